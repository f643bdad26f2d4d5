"""Send a notification: to a chat user through the platform's own API (Zalo OA, WeChat OA),
by e-mail over SMTP, or by SMS through a provider's HTTP API.

Zalo: ``POST {api}/v3.0/oa/message/cs`` with the ``access_token`` header and
``{"recipient": {"user_id"}, "message": {"text"}}``; ``error == 0`` is success.
WeChat: an access token from ``GET {api}/cgi-bin/token`` (app id and secret), then
``POST {api}/cgi-bin/message/custom/send?access_token=...`` with
``{"touser", "msgtype": "text", "text": {"content"}}``; ``errcode == 0`` is success, and an
expired or invalid token is fetched anew once.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import httpx

from central.settings import SmsSettings, SmtpSettings, WeChatSettings, ZaloSettings


class SendError(Exception):
    """The platform refused or could not be reached; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    channel: str

    def send(self, address: str, text: str, subject: str = "") -> None: ...


@dataclass(frozen=True)
class Outgoing:
    address: str
    text: str
    subject: str = ""


class BatchSender(Protocol):
    def send_batch(self, messages: list[Outgoing]) -> list[SendError | None]: ...


def send_all(sender: Sender, messages: list[Outgoing]) -> list[SendError | None]:
    """Send ``messages``; the outcome of each (None when accepted), in order. A sender with a
    ``send_batch`` (a bulk API, one SMTP session) gets them all at once."""
    if hasattr(sender, "send_batch"):
        batch: BatchSender = sender  # type: ignore[assignment]
        return batch.send_batch(messages)
    outcomes: list[SendError | None] = []
    for m in messages:
        try:
            sender.send(m.address, m.text, m.subject)
        except SendError as exc:
            outcomes.append(exc)
        else:
            outcomes.append(None)
    return outcomes


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError as exc:
        raise SendError(f"HTTP {response.status_code}: not JSON") from exc
    if not isinstance(body, dict):
        raise SendError(f"HTTP {response.status_code}: not a JSON object")
    return body


class ZaloSender:
    channel = "zalo"
    _PERMANENT = frozenset({-201, -213, -230})  # bad parameters, not a follower, user gone

    def __init__(self, settings: ZaloSettings, *, client: httpx.Client | None = None) -> None:
        self._settings = settings
        self._client = client or httpx.Client(timeout=10)

    def send(self, address: str, text: str, subject: str = "") -> None:
        try:
            response = self._client.post(
                f"{self._settings.api_url}/v3.0/oa/message/cs",
                headers={"access_token": self._settings.access_token},
                json={"recipient": {"user_id": address}, "message": {"text": text}},
            )
        except httpx.HTTPError as exc:
            raise SendError(f"zalo unreachable: {exc}") from exc
        body = _json(response)
        error = body.get("error")
        if error != 0:
            code = error if isinstance(error, int) else None
            raise SendError(
                f"zalo error {error}: {body.get('message', '')}", permanent=code in self._PERMANENT
            )


class WeChatSender:
    channel = "wechat"
    _TOKEN_ERRORS = frozenset({40001, 40014, 42001})
    _PERMANENT = frozenset({40003, 45015, 43004})  # bad OpenID, outside the 48 h window, unfollowed

    def __init__(self, settings: WeChatSettings, *, client: httpx.Client | None = None) -> None:
        self._settings = settings
        self._client = client or httpx.Client(timeout=10)
        self._token: str | None = None

    def _fetch_token(self) -> str:
        try:
            response = self._client.get(
                f"{self._settings.api_url}/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self._settings.app_id,
                    "secret": self._settings.app_secret,
                },
            )
        except httpx.HTTPError as exc:
            raise SendError(f"wechat unreachable: {exc}") from exc
        body = _json(response)
        token = body.get("access_token")
        if not isinstance(token, str):
            raise SendError(f"wechat token refused: {body.get('errcode')} {body.get('errmsg')}")
        self._token = token
        return token

    def send(self, address: str, text: str, subject: str = "") -> None:
        for attempt in range(2):
            token = self._token or self._fetch_token()
            payload = {"touser": address, "msgtype": "text", "text": {"content": text}}
            try:
                response = self._client.post(
                    f"{self._settings.api_url}/cgi-bin/message/custom/send",
                    params={"access_token": token},
                    json=payload,
                )
            except httpx.HTTPError as exc:
                raise SendError(f"wechat unreachable: {exc}") from exc
            body = _json(response)
            code = body.get("errcode", 0)
            if code == 0:
                return
            if code in self._TOKEN_ERRORS and attempt == 0:
                self._token = None
                continue
            raise SendError(
                f"wechat error {code}: {body.get('errmsg', '')}", permanent=code in self._PERMANENT
            )


class EmailSender:
    """SMTP with STARTTLS when the server offers it (or required by ``starttls``)."""

    channel = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    def send(self, address: str, text: str, subject: str = "") -> None:
        error = self.send_batch([Outgoing(address, text, subject)])[0]
        if error is not None:
            raise error

    def _message(self, m: Outgoing) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = m.address
        message["Subject"] = m.subject or m.text.split("\n", 1)[0][:120]
        message["Message-ID"] = make_msgid(domain=self._settings.sender.rpartition("@")[2] or None)
        message.set_content(m.text)
        return message

    def send_batch(self, messages: list[Outgoing]) -> list[SendError | None]:
        """All in one SMTP session; a refused recipient fails alone, a lost server fails the
        rest of the batch (to be retried)."""
        s = self._settings
        outcomes: list[SendError | None] = []
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
                smtp.ehlo()
                if s.starttls or smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if s.username:
                    smtp.login(s.username, s.password)
                for m in messages:
                    try:
                        smtp.send_message(self._message(m))
                    except smtplib.SMTPRecipientsRefused as exc:
                        refused = SendError(f"recipient refused: {exc.recipients}", permanent=True)
                        outcomes.append(refused)
                    else:
                        outcomes.append(None)
        except (smtplib.SMTPException, OSError) as exc:
            lost = SendError(f"smtp {s.host}:{s.port}: {exc}")
            outcomes += [lost] * (len(messages) - len(outcomes))
        return outcomes


class SmsSender:
    """An SMS provider's JSON API with a bearer key: ``POST {api_url}/messages`` with
    ``{"to", "text", "from"}`` for one, ``POST {api_url}/messages/batch`` with
    ``{"messages": [...]}`` for many (answered ``{"results": [{"id"} or {"error"}]}``);
    2xx is accepted, 4xx (but 429) is permanent."""

    channel = "sms"

    def __init__(self, settings: SmsSettings, *, client: httpx.Client | None = None) -> None:
        self._settings = settings
        self._client = client or httpx.Client(timeout=10)

    def send(self, address: str, text: str, subject: str = "") -> None:
        try:
            response = self._client.post(
                f"{self._settings.api_url}/messages",
                headers={"Authorization": f"Bearer {self._settings.api_key}"},
                json={"to": address, "text": text, "from": self._settings.sender},
            )
        except httpx.HTTPError as exc:
            raise SendError(f"sms provider unreachable: {exc}") from exc
        if not response.is_success:
            raise self._refused(response)

    @staticmethod
    def _refused(response: httpx.Response) -> SendError:
        code = response.status_code
        return SendError(
            f"sms provider answered {code}: {response.text[:100]}",
            permanent=400 <= code < 500 and code != 429,
        )

    def send_batch(self, messages: list[Outgoing]) -> list[SendError | None]:
        payload = [
            {"to": m.address, "text": m.text, "from": self._settings.sender} for m in messages
        ]
        try:
            response = self._client.post(
                f"{self._settings.api_url}/messages/batch",
                headers={"Authorization": f"Bearer {self._settings.api_key}"},
                json={"messages": payload},
            )
        except httpx.HTTPError as exc:
            return [SendError(f"sms provider unreachable: {exc}")] * len(messages)
        if not response.is_success:
            return [self._refused(response)] * len(messages)
        results = _json(response).get("results")
        if not isinstance(results, list) or len(results) != len(messages):
            return [
                SendError("sms provider answered a batch without one result per message")
            ] * len(messages)
        return [
            None
            if isinstance(r, dict) and "error" not in r
            else SendError(
                f"sms refused: {r.get('error') if isinstance(r, dict) else r}", permanent=True
            )
            for r in results
        ]
