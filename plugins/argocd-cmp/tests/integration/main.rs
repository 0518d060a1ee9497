//! A contract harness that behaves like argocd-cmp-server (argo-cd v3.5,
//! cmpserver/plugin/plugin.go and config.go): it reads `plugin.yaml`, copies the
//! repository into a fresh `_cmp_server/<uuid>/` (files 0644, dirs 0755, as
//! `preserveFileMode: false` extracts them), runs the declared command
//! exactly (argv = command[1:] ++ args) with cwd = the app path and one of
//! the three env profiles, and reads stdout the way Argo CD does.

mod announce;
mod cases;
mod directory;
mod findings;
mod flags;
mod guard;
mod harness;
mod image;
mod messages;
mod runtime;
mod strict;
