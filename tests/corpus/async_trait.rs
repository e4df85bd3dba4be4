use crate::support::Calls;
pub(crate) fn exercise() -> Calls { Calls::new() }
