"""An LTI 1.3 platform built on ``lti1p3platform`` (OpenLearning's library, PyPI), run as the
other side of Lyceum's LTI tool in tests.

The library does the platform's protocol work: the login initiation URL, the checks of the
tool's authentication request (client id, nonce, state, redirect URI), the signed id token
(resource link and deep-linking requests, AGS and NRPS claims), the token endpoint (the
tool's client assertion checked against the tool's JWKS), the Deep Linking response check
(signature against the tool's JWKS, message type, content item types), the AGS score and
NRPS membership endpoints (bearer token checked, scopes). This file is the web server
around it and what a real LMS would store (scores received, content items linked).

LTI Dynamic Registration is not in the library: the two small endpoints at the end
(openid-configuration, registration) are written here after the specification.

Run: ``python tests/peers/lti_platform.py CONFIG.json``; it prints ``ready <url>``.
Test hooks: ``GET /_state`` (what it received), ``POST /_fail?count=N`` (the next N score
posts answer 503).
"""

from __future__ import annotations

import html
import json
import secrets
import sys
import threading
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.exceptions import LtiException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.service_connector import (
    AssignmentsGradesService,
    NamesRoleProvisioningService,
)

ROLES = {
    "instructor": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
    "learner": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
}


# The LMS page that frames the tool. Its script is the platform side of LTI Platform Storage
# (lti.put_data / lti.get_data, answered to the posting tool's origin, values kept per
# origin) and of the capabilities query; it counts what it answered in data-* attributes.
EMBED_PAGE = """<!doctype html><title>LMS course</title>
<h1>LMS course page</h1>
<iframe id="tool" name="tool" src="__SRC__" width="1000" height="700"
  allow="clipboard-write"></iframe>
<script>
const store = {};
let puts = 0, gets = 0;
window.addEventListener("message", function (event) {
  const data = event.data || {};
  if (typeof data !== "object" || !data.subject) return;
  const reply = {message_id: data.message_id, subject: data.subject + ".response"};
  const own = store[event.origin] = store[event.origin] || {};
  if (data.subject === "lti.capabilities") {
    reply.supported_messages = [{subject: "lti.put_data"}, {subject: "lti.get_data"}];
  } else if (data.subject === "lti.put_data") {
    own[data.key] = data.value; reply.key = data.key; reply.value = data.value; puts += 1;
  } else if (data.subject === "lti.get_data") {
    reply.key = data.key; gets += 1;
    if (data.key in own) reply.value = own[data.key];
    else reply.error = {code: "bad_request", message: "no value for this key"};
  } else { return; }
  document.body.dataset.puts = puts; document.body.dataset.gets = gets;
  event.source.postMessage(reply, event.origin);
});
</script>"""


class Peer:
    """The platform's state: its key, the tool it knows, what it received."""

    def __init__(self, config: dict[str, t.Any], base: str) -> None:
        self.config = config
        self.base = base
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.lock = threading.Lock()
        self.hints: dict[str, dict[str, t.Any]] = {}
        self.scores: list[dict[str, t.Any]] = []
        self.deep_links: list[dict[str, t.Any]] = []
        self.registrations: list[dict[str, t.Any]] = []
        self.tokens = 0
        self.fail_scores = 0
        self.refused: list[str] = []
        self.lineitems: list[dict[str, t.Any]] = []

    def tool(self) -> dict[str, t.Any]:
        return self.config.get("tool") or {}


class PeerRequest(Request):
    def build_metadata(self, request: t.Any) -> TRequest:
        return request


class PlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, peer: Peer) -> None:  # type: ignore[override]
        tool = peer.tool()
        self._registration = (
            Registration()
            .set_iss(peer.base)
            .set_client_id(tool.get("client_id", ""))
            .set_deployment_id(tool.get("deployment_id", ""))
            .set_launch_url(tool.get("launch_url", ""))
            .set_deeplink_launch_url(tool.get("launch_url", ""))
            .set_oidc_login_url(tool.get("login_url", ""))
            .set_tool_key_set_url(tool.get("jwks_url", ""))
            .set_platform_public_key(peer.public_pem)
            .set_platform_private_key(peer.private_pem)
        )

    def get_registration_by_params(self, **kwargs: t.Any) -> Registration:
        assert self._registration is not None
        return self._registration


class Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: t.Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class Launch(LTIAdvantageMessageLaunchAbstract):
    peer: Peer

    def prepare_launch(self, preflight_response: dict[str, t.Any], **kwargs: t.Any) -> None:
        hint = self.peer.hints.get(preflight_response.get("lti_message_hint", ""))
        if hint is None or hint["user"] != preflight_response.get("login_hint"):
            raise LtiException("unknown message hint or login hint")
        redirect_uri = str(preflight_response.get("redirect_uri") or "")
        if not redirect_uri.split("?")[0] == self.peer.tool().get("launch_url"):
            raise LtiException("redirect_uri is not the tool's registered launch URL")
        person = self.peer.config["people"][hint["user"]]
        self.set_user_data(
            hint["user"],
            ROLES[person.get("role", "learner")],
            full_name=person.get("name"),
            email_address=person.get("email"),
        )
        context = self.peer.config.get("context") or {"id": "ctx-1", "title": "Course"}
        self.set_launch_context_claim(context["id"], context_title=context.get("title"))
        base = self.peer.base
        if hint.get("deep_link"):
            self.set_dl(f"{base}/deep_link_return", title="Pick", extra_data={"hint": hint["id"]})
            return
        link = hint.get("resource_link", "rl-1")
        self.set_resource_link_claim(link, title=hint.get("title") or link)
        if hint.get("custom"):
            self.set_custom_parameters_claim(hint["custom"])
        if hint.get("target_link_uri"):
            self.set_launch_url(hint["target_link_uri"])
        # ``no_lineitem``: a plain link (not deep-linked) has the container but no line item.
        lineitem = None if hint.get("no_lineitem") else f"{base}/lineitems/{link}"
        self.set_ags(f"{base}/lineitems", lineitem)
        if hint.get("document_target"):
            self.set_extra_claims(
                {
                    "https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {
                        "document_target": hint["document_target"],
                        "return_url": f"{base}/return",
                    }
                }
            )
        self.set_nrps(f"{base}/memberships/{context['id']}")

    def render_launch_form(self, launch_data: dict[str, t.Any], **kwargs: t.Any) -> str:
        return (
            "<!doctype html><title>Launching</title>"
            f'<form id="f" method="post" action="{html.escape(launch_data["launch_url"])}">'
            f'<input type="hidden" name="id_token" value="{launch_data["id_token"]}">'
            f'<input type="hidden" name="state" value="{html.escape(launch_data["state"])}">'
            '<button type="submit">Launch</button></form>'
            "<script>document.getElementById('f').submit()</script>"
        )


class Grades(AssignmentsGradesService):
    peer: Peer

    def find_lineitems(self, **kwargs: t.Any) -> t.Any:
        # The container's filters (AGS 2.0 3.2.4): resource_link_id, resource_id, tag.
        wanted = {
            "resourceLinkId": kwargs.get("resource_link_id"),
            "resourceId": kwargs.get("resource_id"),
            "tag": kwargs.get("tag"),
        }
        with self.peer.lock:
            items = [
                dict(i)
                for i in self.peer.lineitems
                if all(v is None or i.get(k) == v for k, v in wanted.items())
            ]
        return {"content": items, "has_next": False}

    def find_lineitem(self, line_item_id: str) -> t.Any:
        return {"id": f"{self.peer.base}/lineitems/{line_item_id}", "scoreMaximum": 100}

    def create_lineitem(self, creation_data: t.Any) -> t.Any:
        if not isinstance(creation_data, dict) or not creation_data.get("label"):
            raise LtiException("a line item needs a label")
        if float(creation_data.get("scoreMaximum") or 0) <= 0:
            raise LtiException("a line item needs a positive scoreMaximum")
        with self.peer.lock:
            item = {
                **creation_data,
                "id": f"{self.peer.base}/lineitems/li-{len(self.peer.lineitems) + 1}",
            }
            self.peer.lineitems.append(item)
        return item

    def update_lineitem(self, update_data: t.Any) -> t.Any:
        return update_data

    def delete_lineitem(self, line_item_id: str) -> None:
        return None

    def update_score(self, line_item_id: str, score: t.Any) -> t.Any:
        from lti1p3platform.score import UpdateScoreStatus

        with self.peer.lock:
            self.peer.scores.append({"lineitem": line_item_id, **score})
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id: str, **kwargs: t.Any) -> t.Any:
        return {"content": [], "has_next": False}


class Roster(NamesRoleProvisioningService):
    peer: Peer

    def get_member_data_page(self, **kwargs: t.Any) -> t.Any:
        members = []
        for user_id, person in self.peer.config["people"].items():
            members.append(
                {
                    "user_id": user_id,
                    "roles": ROLES[person.get("role", "learner")],
                    "name": person.get("name", ""),
                    "email": person.get("email", ""),
                    "status": person.get("status", "Active"),
                }
            )
        return {"content": members, "has_next": False}

    def get_context_by_id(self) -> Context:
        context = self.peer.config.get("context") or {"id": "ctx-1", "title": "Course"}
        return Context(id=context["id"], label=context["id"], title=context.get("title", ""))


def make_handler(peer: Peer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: t.Any) -> None:
            pass

        def _send(self, code: int, body: t.Any, ctype: str = "application/json") -> None:
            raw = (
                body
                if isinstance(body, bytes)
                else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
            )
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _request(self, method: str) -> TRequest:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            ctype = self.headers.get("Content-Type", "")
            form = dict(parse_qsl(raw.decode())) if "urlencoded" in ctype else {}
            body = None
            if "json" in ctype and raw:
                body = json.loads(raw)
            return {
                "method": method,
                "form_data": form,
                "get_data": dict(parse_qsl(parts.query)),
                "headers": {k: v for k, v in self.headers.items()},
                "content_type": ctype,
                "path": parts.path,
                "json": body,
            }

        def _conf(self) -> PlatformConf:
            return PlatformConf(peer=peer)

        def _service_response(self, response: t.Any) -> None:
            self._send(
                response.code,
                response.result if response.result is not None else {"message": response.message},
                response.media_type,
            )

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            try:
                self._dispatch(method)
            except LtiException as exc:
                peer.refused.append(str(exc))
                self._send(400, {"error": str(exc)})

        def _dispatch(self, method: str) -> None:
            req = self._request(method)
            path = req["path"]
            if path == "/jwks":
                conf = self._conf()
                conf.get_registration()
                return self._send(200, conf.get_jwks())
            if path == "/_state":
                with peer.lock:
                    return self._send(
                        200,
                        {
                            "scores": peer.scores,
                            "deep_links": peer.deep_links,
                            "registrations": peer.registrations,
                            "tokens": peer.tokens,
                            "refused": peer.refused,
                            "lineitems": peer.lineitems,
                        },
                    )
            if path == "/_fail" and method == "POST":
                peer.fail_scores = int(req["get_data"].get("count", "1"))
                return self._send(200, {"fail_scores": peer.fail_scores})
            if path == "/_tool" and method == "POST":
                peer.config["tool"] = req["json"]
                return self._send(200, {"ok": True})
            if path == "/start":
                # A person opens a link in the LMS: the platform initiates login at the tool.
                query = req["get_data"]
                hint_id = secrets.token_urlsafe(8)
                custom = json.loads(query["custom"]) if query.get("custom") else None
                peer.hints[hint_id] = {
                    "id": hint_id,
                    "user": query.get("user", ""),
                    "deep_link": query.get("deep_link") == "1",
                    "resource_link": query.get("resource_link", "rl-1"),
                    "title": query.get("title", ""),
                    "custom": custom,
                    "target_link_uri": query.get("target_link_uri", ""),
                    "no_lineitem": query.get("no_lineitem") == "1",
                    "document_target": query.get("document_target", ""),
                }
                conf = self._conf()
                login = Login(PeerRequest(req), conf)
                login.set_lti_message_hint(hint=hint_id)
                if peer.hints[hint_id]["target_link_uri"]:
                    login.set_launch_url(peer.hints[hint_id]["target_link_uri"])
                url = login.initiate_login(peer.hints[hint_id]["user"])
                if query.get("storage"):
                    # LTI Platform Storage: name the frame that answers lti.put/get_data.
                    url += "&" + urlencode({"lti_storage_target": query["storage"]})
                self.send_response(302)
                self.send_header("Location", url)
                self.end_headers()
                return None
            if path == "/auth":
                # The tool's OIDC authentication request: answered with the signed launch.
                conf = self._conf()
                launch = Launch(PeerRequest(req), conf)
                launch.peer = peer
                return self._send(200, launch.lti_launch(), "text/html")
            if path == "/token" and method == "POST":
                conf = self._conf()
                conf.get_registration()
                token = conf.get_access_token(req["form_data"])
                peer.tokens += 1
                return self._send(200, token)
            if path.startswith("/lineitems/") and path.endswith("/scores") and method == "POST":
                line_item = path.split("/")[2]
                if peer.fail_scores > 0:
                    peer.fail_scores -= 1
                    return self._send(503, {"error": "try later"})
                conf = self._conf()
                conf.get_registration()
                grades = Grades(
                    PeerRequest(req),
                    conf,
                    f"{peer.base}/lineitems",
                    f"{peer.base}/lineitems/{line_item}",
                )
                grades.peer = peer
                return self._service_response(
                    grades.handle_resp(grades.handle_update_score, line_item_id=line_item)
                )
            if path == "/lineitems":
                # The line-items container (AGS 2.0 3.2): GET lists (a JSON array, as the
                # spec says; the library answers a page object), POST makes one (201).
                conf = self._conf()
                conf.get_registration()
                grades = Grades(PeerRequest(req), conf, f"{peer.base}/lineitems")
                grades.peer = peer
                if method == "POST":
                    return self._service_response(grades.handle_resp(grades.handle_create_lineitem))
                response = grades.handle_resp(grades.handle_get_lineitems)
                if response.code == 200 and isinstance(response.result, dict):
                    return self._send(
                        200,
                        response.result["content"],
                        "application/vnd.ims.lis.v2.lineitemcontainer+json",
                    )
                return self._service_response(response)
            if path == "/embed":
                # A course page of the LMS that embeds the tool in an iframe (Canvas' and
                # Moodle's "Embed"), answering LTI Platform Storage messages from the tool.
                src = f"{peer.base}/start?{urlencode(req['get_data'])}"
                return self._send(200, EMBED_PAGE.replace("__SRC__", html.escape(src)), "text/html")
            if path.startswith("/memberships/") and method == "GET":
                conf = self._conf()
                conf.get_registration()
                roster = Roster(PeerRequest(req), conf, f"{peer.base}{path}")
                roster.peer = peer
                return self._service_response(roster.handle_resp(roster.handle_get_members))
            if path == "/deep_link_return" and method == "POST":
                conf = self._conf()
                conf.get_registration()
                items = conf.validate_deeplinking_resp(req["form_data"])
                with peer.lock:
                    peer.deep_links.append({"items": items})
                listing = "".join(
                    f'<li data-testid="linked">{html.escape(i.get("title", ""))}</li>'
                    for i in items
                )
                return self._send(
                    200, f"<!doctype html><h1>Linked</h1><ul>{listing}</ul>", "text/html"
                )
            # -- LTI Dynamic Registration (written after the specification) --
            if path == "/.well-known/openid-configuration":
                return self._send(
                    200,
                    {
                        "issuer": peer.base,
                        "authorization_endpoint": f"{peer.base}/auth",
                        "token_endpoint": f"{peer.base}/token",
                        "jwks_uri": f"{peer.base}/jwks",
                        "registration_endpoint": f"{peer.base}/register",
                        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "scopes_supported": ["openid"],
                        "response_types_supported": ["id_token"],
                        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                            "product_family_code": "lti1p3platform-peer",
                            "version": "0.1.8",
                            "messages_supported": [
                                {"type": "LtiResourceLinkRequest"},
                                {"type": "LtiDeepLinkingRequest"},
                            ],
                        },
                    },
                )
            if path == "/register" and method == "POST":
                expected = peer.config.get("registration_token", "")
                if self.headers.get("Authorization") != f"Bearer {expected}":
                    return self._send(401, {"error": "invalid registration token"})
                document = req["json"] or {}
                tool_conf = document.get(
                    "https://purl.imsglobal.org/spec/lti-tool-configuration", {}
                )
                client_id = f"dyn-{secrets.token_hex(4)}"
                peer.config["tool"] = {
                    "client_id": client_id,
                    "deployment_id": "dep-dyn",
                    "launch_url": document.get("redirect_uris", [""])[0],
                    "login_url": document.get("initiate_login_uri", ""),
                    "jwks_url": document.get("jwks_uri", ""),
                }
                with peer.lock:
                    peer.registrations.append(document)
                return self._send(
                    200,
                    {
                        **document,
                        "client_id": client_id,
                        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                            **tool_conf,
                            "deployment_id": "dep-dyn",
                        },
                    },
                )
            return self._send(404, {"error": "not found"})

    return Handler


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())  # noqa: SIM115
    port = int(config.get("port", 0))
    base = f"http://127.0.0.1:{port}"
    peer = Peer(config, base)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(peer))
    print(f"ready {base}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
