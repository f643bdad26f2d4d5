"""Send a text to a chat user through the platform's own API (Zalo OA, WeChat OA).

Zalo: ``POST {api}/v3.0/oa/message/cs`` with the ``access_token`` header and
``{"recipient": {"user_id"}, "message": {"text"}}``; ``error == 0`` is success.
WeChat: an access token from ``GET {api}/cgi-bin/token`` (app id and secret), then
``POST {api}/cgi-bin/message/custom/send?access_token=...`` with
``{"touser", "msgtype": "text", "text": {"content"}}``; ``errcode == 0`` is success, and an
expired or invalid token is fetched anew once.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from central.settings import WeChatSettings, ZaloSettings


class SendError(Exception):
    """The platform refused or could not be reached; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    platform: str

    def send(self, chat_user: str, text: str) -> None: ...


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError as exc:
        raise SendError(f"HTTP {response.status_code}: not JSON") from exc
    if not isinstance(body, dict):
        raise SendError(f"HTTP {response.status_code}: not a JSON object")
    return body


class ZaloSender:
    platform = "zalo"
    _PERMANENT = frozenset({-201, -213, -230})  # bad parameters, not a follower, user gone

    def __init__(self, settings: ZaloSettings, *, client: httpx.Client | None = None) -> None:
        self._settings = settings
        self._client = client or httpx.Client(timeout=10)

    def send(self, chat_user: str, text: str) -> None:
        try:
            response = self._client.post(
                f"{self._settings.api_url}/v3.0/oa/message/cs",
                headers={"access_token": self._settings.access_token},
                json={"recipient": {"user_id": chat_user}, "message": {"text": text}},
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
    platform = "wechat"
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

    def send(self, chat_user: str, text: str) -> None:
        for attempt in range(2):
            token = self._token or self._fetch_token()
            payload = {"touser": chat_user, "msgtype": "text", "text": {"content": text}}
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
