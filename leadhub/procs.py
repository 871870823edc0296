"""make run's process manager: honcho (the Procfile), given time for a clean stop.

honcho SIGKILLs whatever still runs 5 s after the first process stopped. A Celery worker's
warm shutdown on the embedded broker takes longer on a busy laptop (up to 2 s to leave its
polling loop, then the interpreter's exit), and a SIGKILL would cut a delivery in flight (it
is retried, but a clean Ctrl-C should not need that). So this waits up to STOP_SECONDS.
"""

import sys

import honcho.manager
from honcho.command import main

STOP_SECONDS = 30

if __name__ == "__main__":
    honcho.manager.KILL_WAIT = STOP_SECONDS
    sys.exit(main())
