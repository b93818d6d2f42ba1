//! `ts build` of every friendly step kind and condition form, read back with Python's
//! xml.etree and checked against the step table of `shared/specs/task-sequence.md` §3, §5–§7
//! (class, engine command, run-in, key variables), typed into this test.

mod common;
use common::Dir;

const ALL: &str = r#"
[[variables]]
name = "OSDComputerName"
value = "PC-%SerialNumber%"

[[steps]]
group = "WinPE"
condition = { and = [
  { variable = "_SMSTSInWinPE", operator = "equals", value = "true" },
  { not = [ { wmi = "SELECT * FROM Win32_Battery", namespace = "root\\cimv2", ignore_failure = true } ] },
  { or = [ { file = "X:\\a.txt", version = "1.0", version_operator = "greater" }, { folder = "X:\\Drivers" } ] },
  { registry = "HKEY_LOCAL_MACHINE\\SOFTWARE\\X", operator = "exists", reg_type = "REG_DWORD", value = "V", data = "1" },
  { software = "AnyVersion", upgrade_code = "{11111111-2222-3333-4444-555555555555}", product_name = "App" },
] }

  [[steps.steps]]
  name = "Partition"
  kind = "format_and_partition_disk"
  layout = "bios"

  [[steps.steps]]
  name = "Apply OS"
  kind = "apply_os"
  image_package = "ABC00010"
  image_index = 3
  unattend_package = "ABC00011"
  unattend_file = "unattend.xml"

  [[steps.steps]]
  name = "Network"
  kind = "apply_network_settings"
  workgroup = "WORKGROUP"

  [[steps.steps]]
  name = "Drivers"
  kind = "apply_driver_package"
  package = "ABC00012"
  unsigned = true

  [[steps.steps]]
  name = "Setup"
  kind = "setup_windows_and_configmgr"
  client_package = "ABC00004"
  ccmhostname = "CONTOSO.CLOUDAPP.NET/CCM_Proxy_MutualAuth/72186325152220500"
  site_code = "ABC"

[[steps]]
name = "Cmd"
kind = "run_command_line"
command = "cmd /c echo 5 > 4 & exit 0"
package = "ABC00013"
success_codes = [0, 3010, 1641]
continue_on_error = true
timeout = 600

[[steps]]
name = "PS inline"
kind = "run_powershell"
script = "Write-Output 'héllo'\nexit 0\n"
parameters = "-Verbose"

[[steps]]
name = "PS package"
kind = "run_powershell"
package = "ABC00014"
script_name = "Run.ps1"
execution_policy = "AllSigned"

[[steps]]
name = "Apps"
kind = "install_application"
applications = ["ScopeId_1/Application_1", "ScopeId_1/Application_2"]

[[steps]]
name = "Pkg"
kind = "install_package"
package = "ABC00015"
program = "Install"
disabled = true

[[steps]]
name = "Restart"
kind = "restart"
target = "winpe"
message = "bye"
message_timeout = 15

[[steps]]
name = "Var"
kind = "set_variable"
variable = "Ring"
value = "Pilot"
hide_value = true

[[steps]]
name = "Download"
kind = "download_package_content"
packages = ["ABC00016", "ABC00017"]
destination = "custom"
custom_path = "C:\\Content"
destination_variable = "DL"

[[steps]]
name = "Upgrade"
kind = "upgrade_os"
package = "ABC00020"
edition_index = 6

[[steps]]
name = "Raw"
type = "SMS_TaskSequence_PrestartCheckAction"
action = "OSDPrestartCheck.exe"
run_in = "WinPEandFullOS"
variables = [ { name = "OSDCheckMemory", property = "CheckMemory", value = "true" } ]
"#;

const CHECK: &str = r#"
import base64, json, xml.etree.ElementTree as ET
raw = open('all.xml', encoding='utf-8').read()
r = ET.fromstring(raw)
P = 'SMS_TaskSequence_'
steps = {s.get('name'): s for s in r.iter('step')}
def var(s, name):
    m = [v for v in s.iter('variable') if v.get('name') == name]
    assert len(m) == 1, (s.get('name'), name, [v.get('name') for v in s.iter('variable')])
    return m[0]
def val(s, name): return var(s, name).text or ''
# (name, class, action prefix, runIn, {variable: (property, value)}) from the spec tables.
want = [
  ('Partition', 'PartitionDiskAction', 'osddiskpart.exe', 'WinPE', {'OSDDiskIndex': ('DiskIndex', '0'), 'OSDPartitionStyle': ('PartitionStyle', 'MBR')}),
  ('Apply OS', 'ApplyOperatingSystemAction', 'OSDApplyOS.exe /image:ABC00010,%OSDImageIndex%', 'WinPE', {'OSDImageIndex': ('ImageIndex', '3'), 'OSDConfigFileName': ('ConfigFileName', 'unattend.xml')}),
  ('Network', 'ApplyNetworkSettingsAction', 'osdnetsettings.exe configure', 'WinPE', {'OSDNetworkJoinType': ('NetworkJoinType', '1'), 'OSDWorkgroupName': ('WorkgroupName', 'WORKGROUP')}),
  ('Drivers', 'ApplyDriverPackageAction', 'osddriverclient.exe', 'WinPE', {'OSDApplyDriverDriverPackageID': ('DriverPackageID', 'ABC00012'), 'OSDAllowUnsignedDriver': ('UnsignedDriver', 'true')}),
  ('Setup', 'SetupWindowsAndSMSAction', 'OSDSetupWindows.exe', 'WinPEandFullOS', {'SMSClientInstallProperties': ('ClientInstallProperties', 'CCMHOSTNAME=CONTOSO.CLOUDAPP.NET/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC'), '_SMSClientPackageID': ('ClientPackageID', 'ABC00004')}),
  ('Cmd', 'RunCommandLineAction', 'smsswd.exe /run:ABC00013 cmd /c echo 5 > 4 & exit 0', 'WinPEandFullOS', {'CommandLine': ('CommandLine', 'cmd /c echo 5 > 4 & exit 0'), 'PackageID': ('PackageID', 'ABC00013')}),
  ('PS package', 'RunPowerShellScriptAction', 'OSDRunPowerShellScript.exe', 'WinPEandFullOS', {'OSDRunPowerShellScriptPackageID': ('PackageID', 'ABC00014'), 'OSDRunPowerShellScriptScriptName': ('ScriptName', 'Run.ps1'), 'OSDRunPowerShellScriptExecutionPolicy': ('ExecutionPolicy', 'AllSigned')}),
  ('Apps', 'InstallApplicationAction', 'smsappinstall.exe', 'FullOS', {'OSDAppCount': ('NumApps', '2')}),
  ('Pkg', 'InstallSoftwareAction', 'smsswd.exe', 'FullOS', {'_SMSSWDProgramName': ('ProgramName', 'Install'), 'PackageID': ('PackageID', 'ABC00015')}),
  ('Restart', 'RebootAction', 'smsboot.exe /target:WinPE', 'WinPEandFullOS', {'SMSRebootMessage': ('Message', 'bye'), 'SMSRebootTimeout': ('MessageTimeout', '15')}),
  ('Var', 'SetVariableAction', 'tsenv.exe "Ring=Pilot" /hiddenflag:True', 'WinPEandFullOS', {'VariableName': ('VariableName', 'Ring'), 'VariableValue': ('VariableValue', 'Pilot')}),
  ('Download', 'DownloadPackageContentAction', 'OsdDownloadContent.exe', 'WinPEandFullOS', {'OSDDownloadDownloadPackages': ('DownloadPackages', 'ABC00016,ABC00017'), 'OSDDownloadDestinationPath': ('DestinationPath', 'C:\\Content'), 'OSDDownloadDestinationLocationType': ('DestinationLocationType', 'Custom')}),
  ('Upgrade', 'UpgradeOperatingSystemAction', 'OSDUpgradeOS.exe', 'FullOS', {'OSDUpgradeInstallEditionIndex': ('InstallEditionIndex', '6')}),
]
for name, cls, action, run_in, vs in want:
    s = steps[name]
    assert s.get('type') == P + cls, (name, s.get('type'))
    assert s.find('action').text.startswith(action), (name, s.find('action').text)
    assert s.get('runIn') == run_in, (name, s.get('runIn'))
    for k, (prop, v) in vs.items():
        assert var(s, k).get('property') == prop, (name, k)
        assert val(s, k) == v, (name, k, val(s, k))
c = steps['Cmd']
assert (c.get('successCodeList'), c.get('continueOnError'), c.get('timeout')) == ('0 3010 1641', 'true', '600')
assert steps['Pkg'].get('disable') == 'true'
assert steps['Raw'].get('type') == P + 'PrestartCheckAction'
# Inline PowerShell: base64 of UTF-16LE with a BOM (spec §4).
b = base64.b64decode(val(steps['PS inline'], 'OSDRunPowerShellScriptSourceScript'))
assert b[:2] == b'\xff\xfe' and b[2:].decode('utf-16-le') == "Write-Output 'héllo'\nexit 0\n"
# Conditions.
g = r.find('group')
top = g.find('condition')[0]
assert top.tag == 'operator' and top.get('type') == 'and'
kinds = [x.get('type') for x in top]
assert kinds == ['SMS_TaskSequence_VariableConditionExpression', 'not', 'or', 'SMS_TaskSequence_RegistryConditionExpression', 'SMS_TaskSequence_SoftwareConditionExpression'], kinds
wmi = top[1][0]
assert wmi.get('ignoreQueryFailure') == 'true'
props = lambda e: {v.get('name'): v.text for v in e.findall('variable')}
assert props(wmi) == {'Namespace': 'root\\cimv2', 'Query': 'SELECT * FROM Win32_Battery'}
assert props(top[2][0]) == {'Path': 'X:\\a.txt', 'Version': '1.0', 'VersionOperator': 'greater'}
assert props(top[3]) == {'KeyPath': 'HKEY_LOCAL_MACHINE\\SOFTWARE\\X', 'Operator': 'exists', 'Type': 'REG_DWORD', 'Value': 'V', 'Data': '1'}
assert props(top[0]) == {'Variable': '_SMSTSInWinPE', 'Operator': 'equals', 'Value': 'true'}
# References collected from friendly steps; global variables.
refs = sorted(x.get('package') or x.get('application') for x in r.iter('reference'))
assert refs == ['ABC00004', 'ABC00010', 'ABC00011', 'ABC00012', 'ABC00013', 'ABC00014', 'ABC00015', 'ABC00016', 'ABC00017', 'ABC00020', 'ScopeId_1/Application_1', 'ScopeId_1/Application_2'], refs
assert [(v.get('name'), v.text) for v in r.find('globalVarList')] == [('OSDComputerName', 'PC-%SerialNumber%')]
print('ok', len(steps))
"#;

#[test]
fn every_friendly_kind_and_condition_builds_as_the_spec_says() {
    let d = Dir::new();
    std::fs::write(d.join("all.toml"), ALL).unwrap();
    std::fs::write(d.join("check.py"), CHECK).unwrap();
    let j = d
        .peforge(&["ts", "build", "all.toml", "-o", "all.xml", "--json"])
        .ok()
        .json();
    assert_eq!(j["steps"], 15);
    let out = d.tool("python3", &["check.py"]).ok().stdout;
    assert_eq!(out.trim(), "ok 15");
    // Import of the built XML, then build again: same bytes (the ConfigMgr form is stable).
    d.peforge(&["ts", "import", "all.xml", "-o", "again.toml"])
        .ok();
    d.peforge(&["ts", "build", "again.toml", "-o", "again.xml"])
        .ok();
    assert_eq!(
        std::fs::read(d.join("all.xml")).unwrap(),
        std::fs::read(d.join("again.xml")).unwrap()
    );
}

#[test]
fn options_are_checked() {
    let d = Dir::new();
    for (body, expect) in [
        (
            "kind = \"apply_network_settings\"\n",
            "give either `workgroup` or `domain`",
        ),
        (
            "kind = \"apply_network_settings\"\nworkgroup = \"ABCDEFGHIJKLMNOPQRSTUVWXYZ1234567\"\n",
            "1–32",
        ),
        ("kind = \"restart\"\ntarget = \"bios\"\n", "not winpe or os"),
        (
            "kind = \"run_command_line\"\n",
            "option `command` is required",
        ),
        ("kind = \"restart\"\ntype = \"X\"\n", "not both"),
        (
            "kind = \"set_variable\"\nvariable = \"A\"\nhide_value = \"yes\"\n",
            "must be true or false",
        ),
    ] {
        std::fs::write(d.join("t.toml"), format!("[[steps]]\nname = \"S\"\n{body}")).unwrap();
        let r = d
            .peforge(&["ts", "build", "t.toml", "-o", "t.xml"])
            .fails(2);
        assert!(r.stderr.contains(expect), "{body}: {}", r.stderr);
        assert!(
            r.stderr.contains("t.toml: steps[0] (step \"S\")"),
            "{}",
            r.stderr
        );
        assert!(!d.join("t.xml").exists());
    }
}
