#!/usr/bin/python3
"""A local SMS gateway for Loupan's tests, checking each request as the
provider would. Written from the providers' published documents, not from
Loupan's code.

POST /aliyun  Alibaba Cloud SMS `SendSms` (RPC API, signature version 1.0):
              the signature is recomputed here from the form parameters with
              the AccessKey secret given on the command line; a mismatch is
              answered `SignatureDoesNotMatch` as Alibaba answers it.
POST /http    A generic JSON gateway: {"mobile", "content"} → {"status": "ok"};
              mobile 13900000000 is refused with {"status": "error"}.

Every request is written as one JSON line to OUT.
Usage: receiver.py OUT_FILE SECRET   (prints `listening PORT`)
"""

import base64
import hashlib
import hmac
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT, SECRET = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()


def percent(text):
    # RFC 3986, as Alibaba Cloud's documents specify: space %20, * %2A, ~ kept.
    return urllib.parse.quote(text, safe="-_.~")


def aliyun_signature(params, method="POST"):
    canonical = "&".join("%s=%s" % (percent(k), percent(v)) for k, v in sorted(params.items()))
    string_to_sign = "%s&%s&%s" % (method, percent("/"), percent(canonical))
    digest = hmac.new((SECRET + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def record(line):
    with LOCK, open(OUT, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


class Gateway(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        if self.path == "/aliyun":
            pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
            params = dict(pairs)
            signature = params.pop("Signature", "")
            expected = aliyun_signature(params)
            required = ["AccessKeyId", "Action", "Format", "PhoneNumbers", "SignName", "SignatureMethod",
                        "SignatureNonce", "SignatureVersion", "TemplateCode", "Timestamp", "Version"]
            problems = [k for k in required if not params.get(k)]
            ok = (signature == expected and not problems and params.get("Action") == "SendSms"
                  and params.get("SignatureMethod") == "HMAC-SHA1" and params.get("SignatureVersion") == "1.0"
                  and params.get("Version") == "2017-05-25")
            record({"provider": "aliyun", "signature_ok": signature == expected, "missing": problems,
                    "phone": params.get("PhoneNumbers"), "sign_name": params.get("SignName"),
                    "template_code": params.get("TemplateCode"),
                    "params": json.loads(params.get("TemplateParam") or "{}")})
            if ok:
                self.answer(200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0",
                                  "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990"})
            else:
                self.answer(400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"
                                  " with our calculation.", "RequestId": "0"})
        elif self.path == "/http":
            body = json.loads(raw)
            record({"provider": "http", "phone": body.get("mobile"), "text": body.get("content")})
            if body.get("mobile") == "13900000000":
                self.answer(200, {"status": "error", "reason": "number unreachable"})
            else:
                self.answer(200, {"status": "ok"})
        else:
            self.answer(404, {})


def main():
    open(OUT, "w").close()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    print("listening %d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Until the test closes our stdin or kills us.
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
