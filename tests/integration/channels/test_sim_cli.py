"""``m2c sim chat`` against a running central: a follower's message and its reply."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.support.channels import APP_ID, OA_SECRET, WECHAT_TOKEN, add_customer, chat_rig


def test_sim_chat_sends_signed_messages(tmp_path: Path) -> None:
    now = datetime.now(UTC)  # the command signs with the real clock
    with chat_rig(f"sqlite:///{tmp_path}/central.db", now=now) as rig:
        with rig.session() as s:
            add_customer(s, "01234567891", name="Nguyễn Văn An")
            s.commit()
        wechat = subprocess.run(
            [
                sys.executable,
                "-m",
                "m2c",
                "sim",
                "chat",
                "wechat",
                "--central",
                rig.base,
                "--token",
                WECHAT_TOKEN,
                "--user",
                "oCli",
                "绑定 01234567891",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert wechat.returncode == 0, wechat.stderr
        assert "已绑定户号 01234567891" in wechat.stdout
        zalo = subprocess.run(
            [
                sys.executable,
                "-m",
                "m2c",
                "sim",
                "chat",
                "zalo",
                "--central",
                rig.base,
                "--app-id",
                APP_ID,
                "--oa-secret",
                OA_SECRET,
                "--user",
                "zCli",
                "dk 01234567891",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert zalo.returncode == 0, zalo.stderr
        reply = rig.platform.conversation.wait_out("zCli", 1)[0].text
        assert reply.startswith("Đã đăng ký danh bộ 01234567891")
        bad = subprocess.run(
            [
                sys.executable,
                "-m",
                "m2c",
                "sim",
                "chat",
                "zalo",
                "--central",
                rig.base,
                "--app-id",
                APP_ID,
                "--oa-secret",
                "wrong",
                "--user",
                "zCli",
                "dk 01234567891",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert bad.returncode == 1
        assert "401" in bad.stdout
