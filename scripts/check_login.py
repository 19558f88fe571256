"""Checks a running `make run`: logs in to /admin/ like a browser (password, then a TOTP code
from `manage.py totp_code demo`) and prints what it reached.

Usage: python scripts/check_login.py http://127.0.0.1:8000 <printed password> [checkout dir]
"""
import http.cookiejar
import re
import subprocess
import sys
import urllib.parse
import urllib.request

base, password = sys.argv[1], sys.argv[2]
clone = sys.argv[3] if len(sys.argv) > 3 else "."
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def form(url, data):
    page = opener.open(base + url).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
    req = urllib.request.Request(base + url, data=body, headers={"Referer": base + url})
    resp = opener.open(req)
    return resp.geturl(), resp.read().decode()


url, _ = form("/admin/login/", {"username": "demo", "password": password})
print("after password:", url)
print("admin before OTP:", opener.open(base + "/admin/").geturl())
code = subprocess.run([clone + "/.venv/bin/python", "manage.py", "totp_code", "demo"], cwd=clone,
                      capture_output=True, text=True, check=True).stdout.strip()
url, page = form("/admin/login/verify/", {"otp_token": code})
print("after TOTP:", url, "| Site administration" if "Operations" in page or "Customers" in page else page[:300])
r = opener.open(base + "/admin/accounts/customer/")
html = r.read().decode()
print("customers page:", r.status, r.geturl(), html.count("demo.example"), "demo customers shown")
if not (url.endswith("/admin/") and r.geturl().endswith("/admin/accounts/customer/")):
    sys.exit("login did not reach the admin")
print("OK: password + TOTP reached /admin/")
