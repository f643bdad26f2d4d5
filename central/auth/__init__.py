"""Who may do what at central: roles, the authenticated principal and each route's policy.

Every route declares its policy in its decorator, ``dependencies=[allow(Role.X, ...)]`` or
``dependencies=[public()]``; a route that needs the caller asks for ``PrincipalDep``.
"""

from central.auth.policy import PrincipalDep, allow, public
from central.auth.roles import Principal, Role

__all__ = ["Principal", "PrincipalDep", "Role", "allow", "public"]
