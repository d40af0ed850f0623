"""Error codes and gRPC statuses the emulator answers with (docs/protocol.md 6.1).

The codes for "unknown conversation" and "unknown gem" are the emulator's own
choice: what the real service sends in those cases is not known. They lie
outside the codes docs/protocol.md lists, so a client cannot mistake them for a
documented condition, and they are not 1013, so a well-behaved client does
not retry them.
"""

from __future__ import annotations

__all__ = [
    "MODEL_INCONSISTENT",
    "MODEL_INVALID",
    "USAGE_LIMIT",
    "UNKNOWN_CHAT",
    "UNKNOWN_GEM",
    "UNKNOWN_IMAGE",
    "GRPC_INTERNAL",
    "GRPC_INVALID_ARGUMENT",
    "GRPC_NOT_FOUND",
    "GRPC_PERMISSION_DENIED",
    "ACCOUNT_AVAILABLE",
    "ACCOUNT_GUEST",
    "GUEST_FILE",
]

#: StreamGenerate: the model differs from the one the conversation was started with.
MODEL_INCONSISTENT = 1050
#: StreamGenerate: the usage quota of the model is used up (docs/protocol.md 6.1).
USAGE_LIMIT = 1037
#: StreamGenerate: a signed-out visitor's turn references an uploaded file (a working client's report).
GUEST_FILE = 1100
#: StreamGenerate: the model header does not parse or names an unknown model id.
MODEL_INVALID = 1052
#: StreamGenerate: ``inner[2]`` names a conversation id that does not exist (emulator's choice).
UNKNOWN_CHAT = 1022
#: StreamGenerate: ``inner[19]`` names a gem that does not exist (emulator's choice).
UNKNOWN_GEM = 1023
#: batchexecute ``c8o8Fe``: no generated image has that id (emulator's choice).
UNKNOWN_IMAGE = 1024

#: gRPC status of in-band errors (observed value).
GRPC_INTERNAL = 13
#: gRPC status of a batchexecute call whose rpc id or payload is not understood.
GRPC_INVALID_ARGUMENT = 3
#: gRPC status of a batchexecute call on an unknown gem or chat.
GRPC_NOT_FOUND = 5
#: gRPC status "not permitted": what the service answers batchexecute calls of expired cookies
#: (docs/protocol.md 6.2), and a signed-out visitor's history RPCs (docs/protocol.md 13); also a fault
#: (``Fault(grpc=7)``)
GRPC_PERMISSION_DENIED = 7

#: ``otAQ7b`` account status: available.
ACCOUNT_AVAILABLE = 1000
#: ``otAQ7b`` account status of a signed-out visitor (or of cookies the service no longer knows).
ACCOUNT_GUEST = 1016
