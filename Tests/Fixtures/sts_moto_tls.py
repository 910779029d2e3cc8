"""A local AWS STS for CloudCredentials tests: moto's server, over TLS, with IAM authentication switched on.

Usage: sts_moto_tls.py CERT KEY CA_FILE INFO_FILE
Listens on 127.0.0.1, an ephemeral port. Before answering anything it creates, through moto's own IAM API:
  - user "gateway" with an access key and a policy allowing sts:AssumeRole,
  - user "stranger" with an access key and no policy at all,
  - role "gateway-role" that trusts "gateway" only when the ExternalId matches,
then turns on moto's request authentication (SigV4 signatures checked against those keys, IAM policies and the
role's trust policy enforced), writes the keys and ARNs as JSON to INFO_FILE, and prints "PORT <n>" on stdout.
Exits when stdin closes.

  GET /fixture/assumed-roles   JSON list of the AssumeRole calls moto accepted:
                               {"roleArn", "sessionName", "externalId", "durationSeconds"}
"""

import json
import os
import signal
import ssl
import sys
import threading

import boto3
from botocore.config import Config
from moto import settings
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sts.models import sts_backends
from werkzeug.serving import make_server

# The test that starts us may do so from a thread that blocks signals; its stop() must still reach us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

ACCOUNT = "123456789012"
EXTERNAL_ID = "ZlJnih8BfqsosZrEEkfPuR3aGOk2i-HIr6tXN275ioJF6bezIrQB9EbzpTRep8J7RmV7QH=="


def assumed_roles():
    roles = []
    for account in sts_backends.values():
        for backend in account.values():
            for role in backend.assumed_roles:
                lifetime = role.expiration - role.access_key.create_date
                roles.append(
                    {
                        "roleArn": role.role_arn,
                        "sessionName": role.session_name,
                        "externalId": role.external_id,
                        "durationSeconds": round(lifetime.total_seconds()),
                    }
                )
    return roles


def with_fixture_paths(app):
    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") == "/fixture/assumed-roles":
            body = json.dumps(assumed_roles()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return wrapped


def set_up(endpoint, ca_file):
    session = boto3.session.Session(
        aws_access_key_id="AKIASETUP00000000000", aws_secret_access_key="setup", region_name="eu-west-1"
    )
    iam = session.client("iam", endpoint_url=endpoint, verify=ca_file, config=Config(retries={"max_attempts": 1}))
    gateway = iam.create_user(UserName="gateway")["User"]
    iam.put_user_policy(
        UserName="gateway",
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
        ),
    )
    gateway_key = iam.create_access_key(UserName="gateway")["AccessKey"]
    iam.create_user(UserName="stranger")
    stranger_key = iam.create_access_key(UserName="stranger")["AccessKey"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": gateway["Arn"]},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
            }
        ],
    }
    role = iam.create_role(RoleName="gateway-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    return {
        "accessKeyId": gateway_key["AccessKeyId"],
        "secretAccessKey": gateway_key["SecretAccessKey"],
        "strangerAccessKeyId": stranger_key["AccessKeyId"],
        "strangerSecretAccessKey": stranger_key["SecretAccessKey"],
        "roleArn": role["Arn"],
        "externalId": EXTERNAL_ID,
    }


def main():
    certificate, key, ca_file, info_file = sys.argv[1:5]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    app = with_fixture_paths(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    info = set_up(f"https://127.0.0.1:{server.server_port}", ca_file)
    # From here on every request must be signed by a known key and allowed by IAM.
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    temporary = info_file + ".tmp"
    with open(temporary, "w") as out:
        json.dump(info, out)
    os.rename(temporary, info_file)
    print(f"PORT {server.server_port}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
