"""``m2c sim chat``: a chat platform (Zalo OA, WeChat OA) for central's channels."""

from __future__ import annotations

import argparse
from typing import Any


def register_sim(sims: Any) -> None:
    parser: argparse.ArgumentParser = sims.add_parser(
        "chat",
        help="simulated Zalo and WeChat Official Accounts (send API, signed follower messages)",
        description=(
            "'platform' serves both platforms' send-message APIs (Zalo /v3.0/oa/message/cs, "
            "WeChat /cgi-bin/token and /cgi-bin/message/custom/send) and prints what central "
            "sends; point [channels.zalo] api_url and [channels.wechat] api_url at it. "
            "'zalo' and 'wechat' send a follower's signed message to central's webhook."
        ),
    )
    sub = parser.add_subparsers(dest="chat_command", metavar="ACTION", required=True)
    p = sub.add_parser("platform", help="serve the send-message APIs and print the conversation")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8091)
    p.add_argument("--zalo-token", default="zalo-oa-token", help="the OA access token expected")
    p.add_argument("--wechat-app-id", default="wx-sim")
    p.add_argument("--wechat-secret", default="wx-secret")
    p.add_argument("--sms-key", default="sms-provider-key", help="the SMS API key expected")
    p.add_argument("--quiet", action="store_true", help="count messages (GET /stats), no log")
    p.set_defaults(func=_platform)
    for name, text in [("zalo", "a Zalo follower's text event"), ("wechat", "a WeChat message")]:
        p = sub.add_parser(name, help=f"send {text} to central")
        p.add_argument("text", help='what the follower types, e.g. "dk 01234567891"')
        p.add_argument("--central", default="http://127.0.0.1:8080", help="central's base URL")
        p.add_argument("--user", default="sim-user-1", help="the follower's id / OpenID")
        if name == "zalo":
            p.add_argument("--app-id", required=True)
            p.add_argument("--oa-secret", required=True)
        else:
            p.add_argument("--token", required=True)
        p.set_defaults(func=_say, platform=name)


def _platform(args: argparse.Namespace) -> int:
    import threading

    from simulators.chat.platform import PlatformSim

    sim = PlatformSim(
        zalo_token=args.zalo_token,
        wechat_app_id=args.wechat_app_id,
        wechat_secret=args.wechat_secret,
        sms_key=args.sms_key,
        host=args.host,
        port=args.port,
        keep=not args.quiet,
    )
    with sim:
        print(f"chat platform APIs on {sim.url}", flush=True)
        shown = 0
        try:
            while True:
                lines = sim.conversation.lines()
                for said in lines[shown:]:
                    print(f"[{said.platform}] → {said.user}: {said.text}", flush=True)
                shown = len(lines)
                threading.Event().wait(0.2)
        except KeyboardInterrupt:
            return 0


def _say(args: argparse.Namespace) -> int:
    from simulators.chat.users import WeChatUser, ZaloUser

    if args.platform == "zalo":
        zalo = ZaloUser(
            f"{args.central}/api/v1/channels/zalo",
            app_id=args.app_id,
            oa_secret=args.oa_secret,
            user_id=args.user,
        )
        status = zalo.say(args.text)
        print(f"{args.user}: {args.text}\n(webhook answered {status}; the reply goes to the OA)")
        return 0 if status == 200 else 1
    wechat = WeChatUser(
        f"{args.central}/api/v1/channels/wechat", token=args.token, open_id=args.user
    )
    status, reply = wechat.say(args.text)
    print(f"{args.user}: {args.text}\n← {reply}")
    return 0 if status == 200 else 1
