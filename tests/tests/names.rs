//! Phase naming: the default name is the fn's name, `name = ".."` overrides it, one name is one
//! phase (fns that share a name add up), and the report's `site` is the module, file and line
//! of the first call site's `fn` (not of the attribute).

mod common;

use analytics_runtime::analyzed_phase;
use common::{counts, runtime};

#[analyzed_phase]
fn default_name() -> u8 {
    1
}

#[analyzed_phase(name = "custom build")]
fn overridden() -> Result<u8, String> {
    Err("nope".into())
}

#[test]
fn default_name_is_the_fn_name_and_name_overrides_it() {
    let rt = runtime();
    rt.in_scope(|| {
        default_name();
        overridden().unwrap_err();
    });
    let report = rt.report();
    assert_eq!(counts(&report, "default_name"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "custom build"), (1, 0, 1, 0, 0));
    assert!(report.phase("overridden").is_none());
    let names: Vec<&str> = report.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["default_name", "custom build"]);
}

mod first {
    use analytics_runtime::analyzed_phase;

    #[analyzed_phase]
    pub(crate) fn step(fail: bool) -> Result<(), String> {
        if fail { Err("first".into()) } else { Ok(()) }
    }
}

mod second {
    use analytics_runtime::analyzed_phase;

    #[analyzed_phase]
    pub(crate) fn step() -> u32 {
        2
    }
}

#[analyzed_phase(name = "step")]
fn renamed_into_step() {}

#[test]
fn fns_with_the_same_name_share_one_phase() {
    let rt = runtime();
    rt.in_scope(|| {
        first::step(false).unwrap();
        first::step(true).unwrap_err();
        second::step();
        second::step();
        renamed_into_step();
    });
    let report = rt.report();
    assert_eq!(report.phases.len(), 1);
    assert_eq!(counts(&report, "step"), (5, 4, 1, 0, 0));
    // The site is where the phase was first seen.
    let site = report.phase("step").unwrap().site.as_ref().unwrap();
    assert_eq!(site.module_path, "names::first");
}

/// Docs and attributes between `#[analyzed_phase]` and `fn` do not move the site.
#[analyzed_phase]
#[allow(clippy::unnecessary_wraps)]
#[inline]
fn located() -> Option<u8> {
    Some(1)
}
/// The line of `fn located` above.
const LOCATED_LINE: u32 = line!() - 4;

mod nested {
    pub(crate) mod deeper {
        use analytics_runtime::analyzed_phase;

        #[analyzed_phase(name = "nested located")]
        pub(crate) fn located() {}
        pub(crate) const LINE: u32 = line!() - 1;
    }
}

#[test]
fn site_has_module_file_and_line_of_the_fn() {
    let rt = runtime();
    rt.in_scope(|| {
        located();
        nested::deeper::located();
    });
    let report = rt.report();
    let site = report.phase("located").unwrap().site.clone().unwrap();
    assert_eq!(site.module_path, module_path!());
    assert_eq!(site.module_path, "names");
    assert_eq!(site.file, file!());
    assert!(site.file.ends_with("names.rs"), "{}", site.file);
    assert_eq!(site.line, LOCATED_LINE);

    let site = report
        .phase("nested located")
        .unwrap()
        .site
        .clone()
        .unwrap();
    assert_eq!(site.module_path, "names::nested::deeper");
    assert_eq!(site.file, file!());
    assert_eq!(site.line, nested::deeper::LINE);
}

#[analyzed_phase(name = "naïve – ünïcode 名前")]
fn unicode_name() {}

#[analyzed_phase(name = r#"raw "quoted" name"#)]
fn raw_string_name() {}

#[test]
fn unicode_and_raw_string_names_are_kept_verbatim() {
    let rt = runtime();
    rt.in_scope(|| {
        unicode_name();
        raw_string_name();
    });
    let report = rt.report();
    assert_eq!(counts(&report, "naïve – ünïcode 名前"), (1, 1, 0, 0, 0));
    assert_eq!(counts(&report, "raw \"quoted\" name"), (1, 1, 0, 0, 0));
}
