"""The streaming core: a turn's bytes read into chunks, handed out by a generator or a worker thread.

:mod:`.reader` reads one turn (retries before content, bounds, recovery in
:mod:`.recovery`), :mod:`.stream` hands its chunks out, :mod:`.worker` runs
callbacks on a thread, :mod:`.once` sends a request that must never be sent twice.
"""
