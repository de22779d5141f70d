#!/usr/bin/env python3
"""A python-diameter 0.9.0 server for the interoperability tests.

Answers Credit-Control-Request with CCA 2001 (CC-Request-Type/-Number copied, each
Multiple-Services-Credit-Control granted what it asked for) and Accounting-Request with
ACA 2001 (Accounting-Record-Type/-Number copied). python-diameter refuses peers it does not
know (3010), so the clients expected are named with --peer.

Prints "ready HOST:PORT" once listening and one line per answered request; stops (DPR to
connected peers) when stdin closes or on SIGTERM/SIGINT.

    server.py --port 3868 --origin-host pyserver.example.org --realm example.org \\
              --peer client.example.org
"""
import argparse
import logging
import signal
import sys

from diameter.message.avp.grouped import GrantedServiceUnit
from diameter.message.commands import AccountingRequest, CreditControlRequest
from diameter.message.constants import (
    APP_DIAMETER_BASE_ACCOUNTING,
    APP_DIAMETER_CREDIT_CONTROL_APPLICATION,
    E_RESULT_CODE_DIAMETER_COMMAND_UNSUPPORTED,
    E_RESULT_CODE_DIAMETER_SUCCESS,
)
from diameter.node import Node
from diameter.node.application import Application


def handle_request(app, message):
    if isinstance(message, CreditControlRequest):
        answer = app.generate_answer(message, E_RESULT_CODE_DIAMETER_SUCCESS)
        answer.cc_request_type = message.cc_request_type
        answer.cc_request_number = message.cc_request_number
        for mscc in message.multiple_services_credit_control:
            asked = mscc.requested_service_unit
            granted = GrantedServiceUnit(
                cc_total_octets=(asked.cc_total_octets if asked and asked.cc_total_octets
                                 else 10 * 1024 * 1024))
            answer.add_multiple_services_credit_control(
                granted_service_unit=granted,
                rating_group=mscc.rating_group,
                result_code=E_RESULT_CODE_DIAMETER_SUCCESS)
        name = "CCR"
    elif isinstance(message, AccountingRequest):
        answer = app.generate_answer(message, E_RESULT_CODE_DIAMETER_SUCCESS)
        answer.accounting_record_type = message.accounting_record_type
        answer.accounting_record_number = message.accounting_record_number
        name = "ACR"
    else:
        answer = app.generate_answer(message, E_RESULT_CODE_DIAMETER_COMMAND_UNSUPPORTED)
        name = f"command {message.header.command_code}"
    print(f"{name} from {message.origin_host.decode()} session {message.session_id}: "
          f"answered {answer.result_code}", flush=True)
    return answer


class Answering(Application):
    """Answers in the node's own thread (python-diameter's base `Application`): the work is
    tiny, and unlike `SimpleThreadingApplication` it stops at once."""

    def handle_request(self, message):
        self.send_answer(handle_request(self, message))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--origin-host", default="pyserver.example.org")
    p.add_argument("--realm", default="example.org")
    p.add_argument("--peer", action="append", default=[],
                   help="Origin-Host of a client allowed to connect (repeatable)")
    p.add_argument("--verbose", action="store_true", help="python-diameter's INFO log")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    node = Node(args.origin_host, args.realm, ip_addresses=[args.host], tcp_port=args.port)
    node.wakeup_interval = 1  # timers checked every second: a quick stop
    peers = [node.add_peer(f"aaa://{name}:3868;transport=tcp", args.realm)
             for name in args.peer]
    for app in (
        Answering(APP_DIAMETER_CREDIT_CONTROL_APPLICATION, is_auth_application=True),
        Answering(APP_DIAMETER_BASE_ACCOUNTING, is_acct_application=True),
    ):
        node.add_application(app, peers)

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    node.start()
    print(f"ready {args.host}:{args.port}", flush=True)
    try:
        sys.stdin.read()  # until the test closes stdin
    except SystemExit:
        pass
    finally:
        node.stop(wait_timeout=5)
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
