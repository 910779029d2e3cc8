"""Signs SigV4 cases with botocore, the reference the Swift signer is checked against.

Reads {"cases": [...]} as JSON on stdin and writes a JSON list with one result per case on stdout.
A case of kind "websocket" gets the presigned AWS IoT URL; kind "headers" gets the signed headers.
Exits 3 with a message when botocore is not installed.
"""

import base64
import datetime
import json
import signal
import sys
from unittest import mock

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.utils import percent_encode
except ImportError as error:
    print(f"botocore is not installed for {sys.executable} ({error}): pip install botocore", file=sys.stderr)
    sys.exit(3)

# The test that starts us may do so from a thread that blocks signals; its stop() must still reach us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


class IoTWebSocketQueryAuth(botocore.auth.SigV4QueryAuth):
    """SigV4QueryAuth always signs X-Amz-Expires; AWS IoT's WebSocket URL has none, so take it out again."""

    def _modify_request_before_signing(self, request):
        super()._modify_request_before_signing(request)
        request.url = request.url.replace(f"&X-Amz-Expires={self._expires}", "")


def at(seconds):
    return mock.patch.object(
        botocore.auth,
        "get_current_datetime",
        return_value=datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None),
    )


def websocket(case):
    authority = case["host"] if case["port"] == 443 else f'{case["host"]}:{case["port"]}'
    request = AWSRequest(method="GET", url=f"https://{authority}/mqtt")
    # Signed without the token: AWS IoT wants X-Amz-Security-Token appended after signing.
    credentials = Credentials(case["accessKeyID"], case["secretAccessKey"])
    with at(case["date"]):
        IoTWebSocketQueryAuth(credentials, "iotdevicegateway", case["region"]).add_auth(request)
    url = "wss" + request.url[len("https"):]
    if case.get("sessionToken") is not None:
        url += "&X-Amz-Security-Token=" + percent_encode(case["sessionToken"])
    return {"url": url}


def headers(case):
    query = "&".join(f"{percent_encode(name)}={percent_encode(value)}" for name, value in case["query"])
    url = f'https://{case["host"]}{case["path"]}' + (f"?{query}" if query else "")
    request = AWSRequest(
        method=case["method"],
        url=url,
        headers=dict(case["headers"]),
        data=base64.b64decode(case["body"]),
    )
    credentials = Credentials(case["accessKeyID"], case["secretAccessKey"], case.get("sessionToken"))
    with at(case["date"]):
        botocore.auth.SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
    names = ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"]
    return {"headers": [[name, request.headers[name]] for name in names if name in request.headers]}


def main():
    cases = json.load(sys.stdin)["cases"]
    results = [websocket(case) if case["kind"] == "websocket" else headers(case) for case in cases]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
