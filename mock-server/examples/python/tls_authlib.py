"""authlib (a certified-style OAuth client) against `cliauth-mock serve --tls`, trusting the printed CA.

Run by .ci/mock-tls-authlib: python tls_authlib.py PATH-TO-cliauth-mock
"""
import json, subprocess, sys
from authlib.integrations.requests_client import OAuth2Session
p = subprocess.Popen([sys.argv[1], "serve", "--port", "0", "--tls", "--exit-with-parent"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
ready = json.loads(p.stdout.readline())
s = OAuth2Session(client_id="cliauth", token_endpoint_auth_method="none")
s.verify = ready["ca_pem"]
s.trust_env = False
meta = s.get(ready["url"] + "/.well-known/openid-configuration", withhold_token=True).json()
tok = s.fetch_token(meta["token_endpoint"], username="alice", password="alice-password", scope="openid offline_access")
new = s.refresh_token(meta["token_endpoint"], refresh_token=tok["refresh_token"])
assert new["access_token"] != tok["access_token"]
me = s.get(ready["url"] + "/api/v1/me")
assert me.status_code == 200, me.text
p.stdin.close(); p.wait(5)
print("authlib over HTTPS: discovery, password grant, refresh, userinfo OK")
