"""Start Ralph's LRS API (``ralph.api:app``) with its file backend, run by .venv-ralph's
Python: ``ralph_serve.py HOST PORT``.

Ralph's file LRS backend writes its one file with the ``create`` operation, so a second
POST of statements fails ("already exists"); its data backend has an ``append`` operation,
which this launcher makes the default. Everything else is Ralph's own code.
"""

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

if __name__ == "__main__":
    uvicorn.run("ralph.api:app", host=sys.argv[1], port=int(sys.argv[2]), log_level="info")
