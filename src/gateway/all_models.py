"""Every capability's tables, gathered so `Base.metadata` is complete (migrations, tests).

It sits above the capabilities (it imports all their `models.py`), so `gateway.db`, which they
all import, depends on none of them.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from . import outbox as _outbox  # noqa: F401
from .archive import models as _archive  # noqa: F401
from .audit import models as _audit  # noqa: F401
from .auth import models as _auth  # noqa: F401
from .axis import models as _axis  # noqa: F401
from .db import Base
from .delivery import models as _delivery  # noqa: F401
from .ops import models as _ops  # noqa: F401
from .outages import models as _outages  # noqa: F401
from .packages import models as _packages  # noqa: F401
from .registry import models as _registry  # noqa: F401
from .workdays import models as _workdays  # noqa: F401


def load_models() -> MetaData:
    """The metadata of every table of the gateway."""
    return Base.metadata
