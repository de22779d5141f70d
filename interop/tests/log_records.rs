//! How test_app's reports are read out of freeDiameter's log (no peer needed): the cases CI
//! has met, where reports and log records written by other threads end up interleaved.

use diameter_interop::freediameter::{TestAppReports, records, test_app_output, test_app_reports};

#[test]
fn fd_log_records_inside_test_app_reports_are_taken_out() {
    // As CI saw it: a dump written between test_app's `RECV ` and the rest of its report.
    let log = "SEND 643c9869 to 'r' (h)\n\
               RECV 18:39:38  NOTI   SND to 'h': Test-Request(16777215/16777214)[RP--]\n\
               643c9869 (Ok) Status: 2001 From 'h' ('r') in 0.003315 sec\n\
               18:39:44  NOTI   RCV from 'h': Device-Watchdog-Answer(280)[----]\n";
    let out = test_app_output(log);
    let got: Vec<&str> = records(&out).collect();
    assert_eq!(
        got,
        [
            "SEND 643c9869 to 'r' (h)",
            "RECV 643c9869 (Ok) Status: 2001 From 'h' ('r') in 0.003315 sec",
        ]
    );
}

#[test]
fn interleaved_test_app_reports_are_split() {
    let log = "NOTI x\nRECV 1 (Ok) Status: 2001 in 0.1 secRECV 2 (Ok) Status: 2001 in 0.2 sec\n\nSEND 3 to 'r'\n";
    let got: Vec<&str> = records(log).collect();
    assert_eq!(
        got,
        [
            "NOTI x",
            "RECV 1 (Ok) Status: 2001 in 0.1 sec",
            "RECV 2 (Ok) Status: 2001 in 0.2 sec",
            "",
            "SEND 3 to 'r'"
        ]
    );
}

#[test]
fn reports_are_counted_when_a_send_lands_inside_an_answer() {
    // As CI saw it: the third request's `SEND` written between the first answer's `RECV `
    // and the rest of that answer, which came last.
    let log = "SEND 643c9869 to 'r' (h)\n\
               SEND 74b0dc51 to 'r' (h)\n\
               RECV SEND 238e1f29 to 'r' (h)\n\
               21:17:05  NOTI   RCV from 'h': Test-Answer(16777215/16777214)[-P--]\n\
               RECV 74b0dc51 (Ok) Status: 2001 From 'h' ('r') in 0.002634 sec\n\
               RECV 238e1f29 (Ok) Status: 2001 From 'h' ('r') in 0.000389 sec\n\
               643c9869 (Ok) Status: 2001 From 'h' ('r') in 0.004339 sec\n";
    assert_eq!(
        test_app_reports(log, "h"),
        TestAppReports {
            sent: 3,
            answered: 3,
            ok: 3
        }
    );
    assert_eq!(test_app_reports(log, "other").ok, 0);
}
