#!/usr/bin/env python3
"""A scripted person at the browser, for interop runs against a real provider's own pages.

Opens URL, and on every page fills and submits the first form it understands: a user code
(`user_code`), a sign-in (`login` + `password`) or a consent/confirm form (submitted as it
is). Redirects are followed, including the final one to the CLI's loopback callback, which
is what the CLI waits for. Stops when a page has no form. Only http://127.0.0.1 is contacted.

    browser.py URL [--user NAME] [--user-code CODE] [--deny]

Exit 0 when the flow reached a page without a form (success or the callback answered),
1 on anything unexpected; every page visited is listed on stderr.
"""
import argparse
import http.cookiejar
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser


class Forms(HTMLParser):
    """Collects each <form>'s action, method and input/button name-value pairs."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method": (a.get("method") or "get").lower(), "fields": {}, "buttons": []})
        elif tag == "button" or (tag == "input" and a.get("type") == "submit"):
            # Buttons may stand after their form (`form="id"`); they belong to the last one.
            if self.forms:
                self.forms[-1]["buttons"].append((a.get("name") or "", a.get("value") or ""))
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""


class TextOnly(HTMLParser):
    """The visible text of a page, for reporting what a provider's page says."""

    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script", "head")

    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script", "head") and self.skip > 0

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)

    @classmethod
    def of(cls, body):
        p = cls()
        p.feed(body)
        return " ".join(p.parts)


def loopback_only(url):
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"browser.py: refusing to contact {host!r}: only loopback is allowed")


class LoopbackOnly(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        loopback_only(newurl)
        print(f"browser.py: {code} -> {newurl.split('?')[0]}", file=sys.stderr)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--user", default="alice")
    p.add_argument("--user-code")
    p.add_argument("--deny", action="store_true", help="press the abort/deny button on consent")
    args = p.parse_args()
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), LoopbackOnly())
    url, data = args.url, None
    seen = set()
    for _ in range(20):
        loopback_only(url)
        print(f"browser.py: {'POST' if data else 'GET'} {url.split('?')[0]}", file=sys.stderr)
        try:
            with opener.open(url, data=data, timeout=30) as resp:
                url, body = resp.geturl(), resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace")
            print(f"browser.py: HTTP {e.code} at {e.url.split('?')[0]}: {body[:400]}", file=sys.stderr)
            return 1
        parser = Forms()
        parser.feed(body)
        if not parser.forms:
            print(f"browser.py: done at {url.split('?')[0]}", file=sys.stderr)
            return 0
        form = parser.forms[0]
        key = (url.split("?")[0], form["action"], tuple(sorted(form["fields"])))
        if key in seen:
            text = " ".join(TextOnly.of(body).split())
            print(f"browser.py: the same form again, the flow went in a circle; the page says: {text[:400]}", file=sys.stderr)
            return 1
        seen.add(key)
        fields = dict(form["fields"])
        if "user_code" in fields:
            if not args.user_code:
                print("browser.py: the page asks for a user code; pass --user-code", file=sys.stderr)
                return 1
            fields["user_code"] = args.user_code
        if "login" in fields:
            fields["login"] = args.user
            fields["password"] = "interop-password"
        buttons = form["buttons"]
        if buttons:
            pick = [b for b in buttons if ("abort" in b[0]) == args.deny]
            if not pick:
                print(f"browser.py: no {'deny' if args.deny else 'continue'} button on the page", file=sys.stderr)
                return 1
            if pick[0][0]:
                fields[pick[0][0]] = pick[0][1]
        action = urllib.parse.urljoin(url, form["action"] or url)
        encoded = urllib.parse.urlencode(fields)
        if form["method"] == "post":
            url, data = action, encoded.encode()
        else:
            url, data = f"{action}?{encoded}", None
    print("browser.py: more than 20 pages; giving up", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
