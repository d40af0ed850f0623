"""Capture, replay and compare: a real turn recorded (secrets removed) in a file that becomes a test.

:meth:`GeminiClient.capture <gemini_sync.GeminiClient.capture>` (and
``gemini-sync capture``) records one turn with :mod:`.record`, removes every
secret with :mod:`.redact` and writes a :class:`~.file.Capture`;
:meth:`Emulator.replay <gemini_sync.emulator.Emulator.replay>` answers with it;
:mod:`.drift` says how its shapes differ from what the emulator sends.
The submodules are imported when used, so the client's import stays small.
"""
