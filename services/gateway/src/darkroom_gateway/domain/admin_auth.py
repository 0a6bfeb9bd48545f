"""``POST /api/admin/auth/unlink-all`` (spec ``unlinkAllOAuthAccountsAdmin``): unlink every user
from their OAuth account, as an admin does before changing or removing the identity provider.

Admin only (403 ``Forbidden`` otherwise), permission ``adminAuth.unlinkAll``; 204. Users keep
signing in by password; an OAuth sign-in afterwards links (or creates) an account anew, as
after ``POST /api/oauth/unlink``.
"""

from __future__ import annotations

import structlog
from darkroom_db import oauth
from litestar import Controller, post
from litestar.di import NamedDependency

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps

log = structlog.get_logger()


class AdminAuthController(Controller):
    """/api/admin/auth."""

    path = "/api/admin/auth"

    @post("/unlink-all", status_code=204, admin=True, permission="adminAuth.unlinkAll")
    async def unlink_all_oauth_accounts_admin(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Unlink every user's OAuth account (204)."""
        count = await oauth.unlink_all(deps.pool)
        log.info("oauth.unlinked_all", admin_id=str(auth.user.id), users=count)


ROUTES = [AdminAuthController]
