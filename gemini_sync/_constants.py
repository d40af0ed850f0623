"""Tunables and fixed values, kept together instead of scattered literals."""

from __future__ import annotations

# --- endpoints (docs/protocol.md 1); with ``base_url`` they resolve under it ---
GEMINI_ORIGIN = "https://gemini.google.com"
APP_PATH = "/app"
#: the Google home page a signed-out visitor loads first: it sets the anonymous cookies (NID, AEC)
HOME_URL = "https://www.google.com/"
HOME_PATH = "/"
GENERATE_PATH = "/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate"
BATCH_EXEC_PATH = "/_/BardChatUi/data/batchexecute"
ROTATE_COOKIES_URL = "https://accounts.google.com/RotateCookies"
ROTATE_COOKIES_PATH = "/RotateCookies"
UPLOAD_URL = "https://content-push.googleapis.com/upload"
UPLOAD_PATH = "/upload"

# --- cookies ---
PSID = "__Secure-1PSID"
PSIDTS = "__Secure-1PSIDTS"
ENV_PSID = "GEMINI_SECURE_1PSID"
ENV_PSIDTS = "GEMINI_SECURE_1PSIDTS"
ENV_COOKIE_PATH = "GEMINI_COOKIE_PATH"
ENV_BASE_URL = "GEMINI_BASE_URL"  # base_url when none is given (e.g. a running emulator)
ENV_CLI_LOG = "GEMINI_SYNC_LOG"  # the command line's log level: debug, info, warning, error

# --- timeouts (seconds) ---
DEFAULT_TIMEOUT = 30.0
# The stall watchdog (docs/protocol.md 6.4): silence between frames allowed while the answer is
# being written, and the longer silence allowed while the service reports that it is thinking or
# queued (status frames): thinking models are silent for minutes (180 s reported; a 509 s answer
# from Pro on a large prompt), so the ordinary bound must not kill them. Upstream uses 120 s / 450 s.
DEFAULT_STALL_TIMEOUT = 120.0
DEFAULT_BUSY_STALL_TIMEOUT = 450.0
WATCHDOG_LINGER = 0.5  # seconds the idle watchdog thread waits for the next call before it exits
DEFAULT_QUEUE_TIMEOUT = 600.0  # frames without content (queued / busy) for longer than this fail
DEFAULT_MAX_RETRIES = 3
DEFAULT_REFRESH_INTERVAL = 600.0
QUOTA_LOOKUP_TIMEOUT = 5.0  # after a 1037, the one quota lookup that finds the reset time
ROTATE_TIMEOUT = 10.0  # a cookie rotation gives up after this; close() waits at most this long
# processes sharing a cookie cache: while another process holds the rotation lock, look again after
# this long (at most a quarter of the interval), so a process killed while rotating delays little
ROTATION_BUSY_RETRY = 5.0
ROTATION_MIN_DELAY = 0.05  # never spin: the thread waits at least this long between looks

# --- recovery by reading the turn back (seconds) ---
RECOVER_TIMEOUT = 30.0
RECOVER_INTERVAL = 1.0

# --- long jobs on the service: Deep Research, video and music (docs/protocol.md 11, 12) ---
JOB_POLL_INTERVAL = 10.0  # the web app reads the history about every 10 s while a job runs
JOB_FIRST_POLL = 1.0  # the first looks come sooner: 1, 2, 4... s apart, up to JOB_POLL_INTERVAL
RESEARCH_TIMEOUT = 1800.0  # a research commonly takes 5-10 min, at most about an hour
RESEARCH_TURNS = 10  # the report can sit on an earlier turn: read this many
MAX_MEDIA_BYTES = 1024 * 1024 * 1024  # a generated video or track larger than this is refused
MEDIA_TIMEOUT = 600.0  # following a video/music job, and waiting while its file renders (206)

# --- retry backoff (seconds) ---
RETRY_INITIAL_DELAY = 0.5
RETRY_MAX_DELAY = 8.0
RETRY_AFTER_CAP = 30.0

# --- limits of the decoder: refuse, never allocate, beyond these ---
MAX_FRAME_UNITS = 64 * 1024 * 1024  # one frame, in UTF-16 units
MAX_LENGTH_DIGITS = 10  # digits of a length line
MAX_BODY_CHARS = 512 * 1024 * 1024  # whole response body

# --- the socket and files ---
READ_CHUNK_SIZE = 64 * 1024
FILE_BLOCK_SIZE = 64 * 1024  # uploads and image downloads move files in blocks of this size
POOL_SIZE = 64  # connections kept per host: one client shared by 64 threads needs no new ones

# --- request defaults ---
DEFAULT_LANGUAGE = "en"
DEFAULT_PUSH_ID = "feeds/mcudyrk2a4khkz"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

# --- redirects and size limits of whole answers (bytes, after decompression) ---
MAX_REDIRECTS = 3  # same-origin hops of one request; a loop ends at once
MAX_PAGE_BYTES = 16 * 1024 * 1024  # the app page (a few MB in 2026)
MAX_RPC_BYTES = 32 * 1024 * 1024  # one batchexecute answer (a long chat read back is a few MB)
MAX_UPLOAD_ANSWER_BYTES = 64 * 1024  # an upload answers with a short identifier
MAX_IMAGE_BYTES = 256 * 1024 * 1024  # one image download
MAX_IMAGE_URL_BYTES = 64 * 1024  # the answer of a full-size image lookup (a URL)
MAX_FILE_NAME = 200  # characters of a file name derived from a URL or an upload
