#!/usr/bin/env python3
"""A python-diameter 0.9.0 client for the interoperability tests.

Connects to a peer (CER/CEA), sends a Gy CCR-I (application 4) and an ACR (EVENT_RECORD,
application 3), prints "CCA <Result-Code>" and "ACA <Result-Code>", and disconnects
(DPR/DPA). Exit status 0 when both answers are 2001.

    client.py --port 3868 --peer-host server.example.org --peer-realm example.org
"""
import argparse
import logging
import sys

from diameter.message.avp.grouped import RequestedServiceUnit
from diameter.message.commands import AccountingRequest, CreditControlRequest
from diameter.message.constants import (
    APP_DIAMETER_BASE_ACCOUNTING,
    APP_DIAMETER_CREDIT_CONTROL_APPLICATION,
    E_ACCOUNTING_RECORD_TYPE_EVENT_RECORD,
    E_CC_REQUEST_TYPE_INITIAL_REQUEST,
    E_RESULT_CODE_DIAMETER_SUCCESS,
    E_SUBSCRIPTION_ID_TYPE_END_USER_E164,
)
from diameter.node import Node
from diameter.node.application import Application


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1", help="the peer's address")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--peer-host", default="server.example.org",
                   help="the peer's DiameterIdentity")
    p.add_argument("--peer-realm", default="example.org")
    p.add_argument("--origin-host", default="pyclient.example.org")
    p.add_argument("--realm", default="example.org")
    p.add_argument("--timeout", type=int, default=10)
    p.add_argument("--verbose", action="store_true", help="python-diameter's INFO log")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    node = Node(args.origin_host, args.realm)
    node.wakeup_interval = 1
    peer = node.add_peer(f"aaa://{args.peer_host}:{args.port};transport=tcp",
                         args.peer_realm, ip_addresses=[args.host], is_persistent=True)
    # Client only: the base Application sends requests and waits for their answers.
    gy = Application(APP_DIAMETER_CREDIT_CONTROL_APPLICATION, is_auth_application=True)
    acct = Application(APP_DIAMETER_BASE_ACCOUNTING, is_acct_application=True)
    node.add_application(gy, [peer])
    node.add_application(acct, [peer])
    node.start()
    codes = []
    try:
        gy.wait_for_ready(timeout=args.timeout)
        acct.wait_for_ready(timeout=args.timeout)

        ccr = CreditControlRequest()
        ccr.session_id = node.session_generator.next_id()
        ccr.origin_host = args.origin_host.encode()
        ccr.origin_realm = args.realm.encode()
        ccr.destination_realm = args.peer_realm.encode()
        ccr.auth_application_id = APP_DIAMETER_CREDIT_CONTROL_APPLICATION
        ccr.service_context_id = "32251@3gpp.org"
        ccr.cc_request_type = E_CC_REQUEST_TYPE_INITIAL_REQUEST
        ccr.cc_request_number = 0
        ccr.add_subscription_id(E_SUBSCRIPTION_ID_TYPE_END_USER_E164, "15551234567")
        ccr.add_multiple_services_credit_control(
            requested_service_unit=RequestedServiceUnit(cc_total_octets=1048576),
            rating_group=1)
        cca = gy.send_request(ccr, timeout=args.timeout)
        granted = [m.granted_service_unit.cc_total_octets
                   for m in cca.multiple_services_credit_control
                   if m.granted_service_unit]
        print(f"CCA {cca.result_code} CC-Request-Type {cca.cc_request_type} "
              f"CC-Request-Number {cca.cc_request_number} granted {granted}", flush=True)
        codes.append(cca.result_code)

        acr = AccountingRequest()
        acr.session_id = node.session_generator.next_id()
        acr.origin_host = args.origin_host.encode()
        acr.origin_realm = args.realm.encode()
        acr.destination_realm = args.peer_realm.encode()
        acr.accounting_record_type = E_ACCOUNTING_RECORD_TYPE_EVENT_RECORD
        acr.accounting_record_number = 0
        acr.acct_application_id = APP_DIAMETER_BASE_ACCOUNTING
        aca = acct.send_request(acr, timeout=args.timeout)
        print(f"ACA {aca.result_code} Accounting-Record-Type {aca.accounting_record_type} "
              f"Accounting-Record-Number {aca.accounting_record_number}", flush=True)
        codes.append(aca.result_code)
    except Exception as e:  # noqa: BLE001 - report whatever python-diameter raised
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    finally:
        node.stop(wait_timeout=5)
    ok = len(codes) == 2 and all(c == E_RESULT_CODE_DIAMETER_SUCCESS for c in codes)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
