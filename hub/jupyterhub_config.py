"""JupyterHub for the course on one server: `make hub` runs it (INSTRUCTORS.md, "A lab on one
server"). Settings are environment variables (hub/course_hub.py lists them); the ports:
NST_HUB_IP and NST_HUB_PORT (where learners connect; default every address, port 8000),
NST_HUB_API_PORT and NST_HUB_PROXY_API_PORT (internal, on 127.0.0.1; default 8081 and 8001).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course_hub as course

c = get_config()  # noqa: F821
state = course.hub_dir()
state.mkdir(parents=True, exist_ok=True)
env = os.environ.get

# --- Where it listens, and where it keeps its state --------------------------------------------
c.JupyterHub.bind_url = f"http://{env('NST_HUB_IP', '')}:{env('NST_HUB_PORT', '8000')}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{env('NST_HUB_API_PORT', '8081')}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('NST_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [str(course.HERE / "node_modules/.bin/configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
# Put TLS in front for a real class (the password crosses the network):
# c.JupyterHub.ssl_cert = "/etc/letsencrypt/live/HOST/fullchain.pem"
# c.JupyterHub.ssl_key = "/etc/letsencrypt/live/HOST/privkey.pem"

# --- Who may log in: one class password; instructors have their own -------------------------
learner_password, admin_password = course.passwords(state)
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = learner_password
c.SharedPasswordAuthenticator.admin_password = admin_password
c.Authenticator.admin_users = set(env("NST_HUB_ADMINS", "instructor").split(","))
roster = env("NST_HUB_ROSTER")  # a file of user names, one a line: only they may log in
if roster:
    c.Authenticator.allowed_users = set(Path(roster).read_text().split())
else:
    c.Authenticator.allow_all = True  # anyone with the class password, under any name
# The university's login instead (pip install oauthenticator, or jupyterhub-ldapauthenticator):
# c.JupyterHub.authenticator_class = "generic-oauth"   # or "azuread", "github", "google", ...
# c.GenericOAuthenticator.client_id = "..."; c.GenericOAuthenticator.client_secret = "..."
# c.GenericOAuthenticator.oauth_callback_url = "https://HOST/hub/oauth_callback"
# c.GenericOAuthenticator.authorize_url / token_url / userdata_url = "https://login.UNI/..."
# c.GenericOAuthenticator.allowed_groups = {"nst-2026"}
# c.JupyterHub.authenticator_class = "ldap"
# c.LDAPAuthenticator.server_address = "ldap.UNI"
# c.LDAPAuthenticator.bind_dn_template = ["uid={username},ou=people,dc=uni,dc=edu"]

# --- Each learner's server -----------------------------------------------------------------
systemd = Path("/run/systemd/system").is_dir()
spawner = env("NST_HUB_SPAWNER") or ("systemd" if systemd else "course")
c.Spawner.cmd = [str(course.HERE / "singleuser"), str(course.VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/lessons/00_setup_check.ipynb"
c.Spawner.environment = course.learner_environment()
c.Spawner.mem_limit = env("NST_HUB_MEM_LIMIT", "2G")
c.Spawner.start_timeout = 120  # a room starting at once on a small server
c.Spawner.http_timeout = 90
if spawner == "systemd":  # pip install jupyterhub-systemdspawner (requirements-dev.txt has it)
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.dynamic_users = True  # a user of their own, home in /var/lib/NAME
    c.SystemdSpawner.isolate_tmp = True
    c.SystemdSpawner.readonly_paths = [str(course.cache_dir()), str(course.ROOT)]
    # mem_limit becomes the unit's MemoryMax: the learner's server and kernels together.
elif spawner == "course":
    c.JupyterHub.spawner_class = course.CourseSpawner
    c.CourseSpawner.home_dir_template = str(
        Path(env("NST_HUB_HOMES") or state / "homes") / "{username}"
    )
    # hub/singleuser makes the cache read-only for each learner where it may (the hub as root)
    c.Spawner.environment["NST_READONLY"] = str(course.cache_dir())
    if os.getuid() == 0:  # learners run as the hub's account: root here
        c.Spawner.args = ["--allow-root"]
else:
    sys.exit(f"NST_HUB_SPAWNER={spawner!r}: choose systemd or course")

# --- A token for scripts (the load test): the instructor's REST API access ------------------
if env("NST_HUB_API_TOKEN"):
    c.JupyterHub.services = [{"name": "course-admin", "api_token": env("NST_HUB_API_TOKEN")}]
    c.JupyterHub.load_roles = [
        {
            "name": "course-admin",
            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
            "services": ["course-admin"],
        }
    ]
