//! The imports of plugin API 0.2.0: each converts its arguments to the
//! latest API and calls the latest implementation, so capability checks
//! and limits are the same code for every version; typed errors reach the
//! plugin as their words.

use crate::plugin::bindings::latest::ops::plugin as latest;
use crate::plugin::bindings::v0_2_0::ops::plugin as old;
use crate::plugin::bindings::v0_2_0::ops::plugin::types::{
    ExecOutput, ExecRequest, HttpRequest, HttpResponse, LogLevel,
};
use crate::plugin::compat::{self, error_text};
use crate::plugin::state::PluginState;

impl old::types::Host for PluginState {}

impl old::log::Host for PluginState {
    async fn log(&mut self, level: LogLevel, message: String) {
        latest::log::Host::log(self, compat::v0_2::log_level(level), message).await
    }
}

impl old::node::Host for PluginState {
    async fn exec(&mut self, request: ExecRequest) -> Result<ExecOutput, String> {
        latest::node::Host::exec(self, compat::v0_2::exec_request(request))
            .await
            .map(compat::v0_2::exec_output)
            .map_err(error_text)
    }

    async fn write_file(
        &mut self,
        path: String,
        contents: Vec<u8>,
        mode: u32,
    ) -> Result<(), String> {
        latest::node::Host::write_file(self, path, contents, mode)
            .await
            .map_err(error_text)
    }

    async fn scratch_dir(&mut self, name: String) -> Result<String, String> {
        latest::node::Host::scratch_dir(self, name)
            .await
            .map_err(error_text)
    }

    async fn remote_shell(&mut self) -> Result<String, String> {
        latest::node::Host::remote_shell(self)
            .await
            .map_err(error_text)
    }
}

impl old::local::Host for PluginState {
    async fn exec(&mut self, request: ExecRequest) -> Result<ExecOutput, String> {
        latest::local::Host::exec(self, compat::v0_2::exec_request(request))
            .await
            .map(compat::v0_2::exec_output)
            .map_err(error_text)
    }

    async fn read_file(&mut self, path: String) -> Result<Vec<u8>, String> {
        latest::local::Host::read_file(self, path)
            .await
            .map_err(error_text)
    }

    async fn project_root(&mut self) -> String {
        latest::local::Host::project_root(self).await
    }
}

impl old::environment::Host for PluginState {
    async fn get(&mut self, name: String) -> Result<Option<String>, String> {
        latest::environment::Host::get(self, name)
            .await
            .map_err(error_text)
    }
}

impl old::http::Host for PluginState {
    async fn fetch(&mut self, request: HttpRequest) -> Result<HttpResponse, String> {
        latest::http::Host::fetch(self, compat::v0_2::http_request(request))
            .await
            .map(compat::v0_2::http_response)
            .map_err(error_text)
    }
}
