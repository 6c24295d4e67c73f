//! `environment`: variables of the user's machine, each one only when the
//! plugin declared it and it was granted (`env` capability).

use crate::plugin::bindings::latest::ops::plugin::environment::Host;
use crate::plugin::bindings::types::Error as WitError;
use crate::plugin::capability::Need;
use crate::plugin::state::PluginState;

impl Host for PluginState {
    async fn get(&mut self, name: String) -> Result<Option<String>, WitError> {
        let checked = self.check(Need::Env(&name)).map_err(WitError::Refused);
        checked.map(|()| {
            let value = std::env::var(&name).ok();
            // The host cannot tell which variables are secret; mask them all
            // in case the plugin echoes one or passes it on.
            if let Some(v) = &value {
                self.ctx.redactor.add(v);
            }
            value
        })
    }
}
