//! CLI-wide behaviour: exit codes of usage errors, help, generated completions.

mod common;
use common::Dir;

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let d = Dir::new();
    let r = d.peforge(&["no-such-command"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = d.peforge(&["--help"]).ok();
    assert!(
        r.stdout.contains("Exit status: 0 success, 1 findings"),
        "{}",
        r.stdout
    );
}

#[test]
fn bash_completion_script_is_valid_bash() {
    let d = Dir::new();
    let r = d.peforge(&["completions", "bash"]).ok();
    std::fs::write(d.join("peforge.bash"), &r.stdout).unwrap();
    // bash itself parses the script (independent of clap) and it completes our subcommands.
    d.tool("bash", &["-n", "peforge.bash"]).ok();
    for sub in ["wim", "hive", "sample"] {
        assert!(r.stdout.contains(sub), "completion lacks {sub}");
    }
}

#[test]
fn broken_pipe_is_not_an_error() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    // `| true` closes stdout before peforge writes; peforge must exit 0 without an error message.
    let script = format!(
        "set -o pipefail; '{}' wim ls -r '{}' | true",
        env!("CARGO_BIN_EXE_peforge"),
        wim.display()
    );
    let r = d.tool("bash", &["-c", &script]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
}
