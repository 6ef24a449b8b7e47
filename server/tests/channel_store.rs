//! The channels' tables on a real SQLite database: the durable job queue (dedupe, lanes,
//! leases, retries, dead jobs) and WhatsApp receipts.

use outpost::channels::store::{ChannelStore, NewJob, state};
use outpost::platform::native::sqlite::SqliteFile;

fn store() -> ChannelStore<SqliteFile> {
    ChannelStore::open(SqliteFile::in_memory().unwrap()).unwrap()
}

fn job<'a>(lane: Option<&str>, dedupe: Option<&str>) -> NewJob<'a> {
    NewJob {
        project: "acme",
        kind: "test",
        lane: lane.map(str::to_owned),
        dedupe: dedupe.map(str::to_owned),
        payload: "{}".into(),
    }
}

#[test]
fn a_dedupe_key_makes_one_job() {
    let s = store();
    assert!(s.jobs().enqueue(&job(None, Some("wa:1")), 0).unwrap());
    assert!(!s.jobs().enqueue(&job(None, Some("wa:1")), 5).unwrap());
    assert_eq!(s.jobs().list("acme", None, 10).unwrap().len(), 1);
}

#[test]
fn a_lane_runs_one_job_at_a_time_in_order_and_a_lost_lease_is_claimed_again() {
    let s = store();
    s.jobs().enqueue(&job(Some("u1"), None), 0).unwrap();
    s.jobs().enqueue(&job(Some("u1"), None), 0).unwrap();
    s.jobs().enqueue(&job(Some("u2"), None), 0).unwrap();
    let a = s.jobs().claim(10, 100).unwrap().unwrap();
    let b = s.jobs().claim(10, 100).unwrap().unwrap();
    assert_eq!((a.id, b.id), (1, 3), "u1's second job waits for its first");
    assert!(s.jobs().claim(10, 100).unwrap().is_none());
    // The runner of job 1 died: once its lease ends, job 1 is claimed again, not job 2.
    let again = s.jobs().claim(200, 100).unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (1, 2));
    s.jobs().complete(1, 210).unwrap();
    assert_eq!(s.jobs().claim(210, 100).unwrap().unwrap().id, 2);
}

#[test]
fn failures_retry_later_then_die_and_an_operator_can_retry() {
    let s = store();
    s.jobs().enqueue(&job(None, None), 0).unwrap();
    let j = s.jobs().claim(0, 100).unwrap().unwrap();
    s.jobs().fail(j.id, "boom", Some(50), 1).unwrap();
    assert!(s.jobs().claim(10, 100).unwrap().is_none());
    assert_eq!(s.jobs().next_due().unwrap(), Some(50));
    let j = s.jobs().claim(50, 100).unwrap().unwrap();
    s.jobs().fail(j.id, "boom again", None, 51).unwrap();
    let dead = s.jobs().list("acme", Some(state::DEAD), 10).unwrap();
    assert_eq!(dead[0].last_error.as_deref(), Some("boom again"));
    assert!(s.jobs().claim(1000, 100).unwrap().is_none());
    assert!(s.jobs().retry("acme", j.id, 1000).unwrap());
    assert!(!s.jobs().retry("other", j.id, 1000).unwrap());
    assert_eq!(s.jobs().claim(1000, 100).unwrap().unwrap().id, j.id);
}

#[test]
fn receipts_are_recorded_once_and_never_go_backwards() {
    let s = store();
    s.whatsapp()
        .save_reply("acme", "in1", "555", ("q", "a"), &["a".to_owned()], 1)
        .unwrap();
    s.whatsapp()
        .mark_part("acme", "in1", 0, Some("wamid.out"))
        .unwrap();
    let status = |st: &str| outpost::channels::whatsapp::payload::Status {
        phone_number_id: "1".into(),
        id: "wamid.out".into(),
        status: st.into(),
        timestamp: 5,
        recipient_id: Some("555".into()),
        error_codes: vec![],
    };
    assert!(s.whatsapp().record_status("acme", &status("read")).unwrap());
    assert!(
        s.whatsapp()
            .record_status("acme", &status("delivered"))
            .unwrap()
    );
    assert!(!s.whatsapp().record_status("acme", &status("read")).unwrap());
    let reply = s.whatsapp().reply("acme", "in1").unwrap();
    assert_eq!(reply[0].status.as_deref(), Some("read"));
    assert_eq!(
        s.whatsapp().statuses("acme", "wamid.out").unwrap(),
        vec!["read", "delivered"]
    );
}
