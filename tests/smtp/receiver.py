#!/usr/bin/python3
"""A real SMTP server for Loupan's e-mail tests (aiosmtpd, from Debian's
python3-aiosmtpd or PyPI). Every message it accepts is decoded with Python's
own e-mail parser and written as one JSON line to OUT; attachments are saved
beside it. Recipients whose address starts with `refuse` are refused with a
permanent 550, as a real server refuses an unknown mailbox.

Usage: receiver.py OUT_FILE [DELAY_MS]   (prints `listening PORT` once it
accepts connections; DELAY_MS slows each acceptance, as a busy server does,
so that a test can kill Loupan in the middle of a batch)
"""

import asyncio
import email
import email.policy
import json
import os
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, out, delay):
        self.out = out
        self.delay = delay
        self.lock = threading.Lock()
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refuse"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.count += 1
            n = self.count
        attachments = []
        body = ""
        for part in msg.walk():
            if part.is_multipart():
                continue
            name = part.get_filename()
            if name:
                path = "%s.%d.%d.bin" % (self.out, n, len(attachments))
                with open(path, "wb") as f:
                    f.write(part.get_payload(decode=True))
                attachments.append({"name": name, "content_type": part.get_content_type(), "path": path})
            elif part.get_content_type() == "text/plain":
                body = part.get_content()
        line = {
            "envelope_to": envelope.rcpt_tos,
            "to": str(msg["To"]),
            "from": str(msg["From"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "body": body,
            "list_unsubscribe": msg["List-Unsubscribe"] and str(msg["List-Unsubscribe"]),
            "list_unsubscribe_post": msg["List-Unsubscribe-Post"] and str(msg["List-Unsubscribe-Post"]),
            "attachments": attachments,
        }
        with self.lock, open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        return "250 2.0.0 Ok: queued as loupan-test-%d" % n


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    out = sys.argv[1]
    open(out, "w").close()
    delay = int(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0
    controller = Controller(Keep(out, delay), hostname="127.0.0.1", port=free_port())
    controller.start()
    print("listening %d" % controller.port, flush=True)
    try:
        # Until the test closes our stdin or kills us.
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
