"""Every table, imported in one place so Alembic and tests see the whole schema."""

from lmsplans.server.auth import models as auth_models
from lmsplans.server.changes import models as change_models
from lmsplans.server.courses import models as course_models
from lmsplans.server.db import schema as storage_models
from lmsplans.server.db.schema import metadata
from lmsplans.server.events import models as event_models
from lmsplans.server.idempotency import models as idempotency_models
from lmsplans.server.learners import models as learner_models
from lmsplans.server.plans import models as plan_models
from lmsplans.server.progress import models as progress_models
from lmsplans.server.sessions import models as session_models
from lmsplans.server.webhooks import models as webhook_models

__all__ = [
    "auth_models",
    "change_models",
    "course_models",
    "event_models",
    "idempotency_models",
    "learner_models",
    "metadata",
    "plan_models",
    "progress_models",
    "session_models",
    "storage_models",
    "webhook_models",
]
