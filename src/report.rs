//! [`HeadErrors`]: the one way every stage reports a head's problem. It logs each distinct problem of a
//! head once (later repeats go to the debug log) and sends every occurrence as a
//! [`TalkingHeadError`] message, so games can show it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bevy::asset::{Asset, AssetServer, Handle, LoadState, UntypedAssetId};
use bevy::ecs::entity::Entity;
use bevy::ecs::message::MessageWriter;
use bevy::ecs::resource::Resource;
use bevy::ecs::system::{Res, ResMut, SystemParam};
use bevy::log::{debug, error, warn};

use crate::error::{Error, TalkingHeadError};

/// The problems already logged, per head (pruned when a head goes away).
#[derive(Resource, Default, Debug)]
pub(crate) struct LoggedErrors {
    heads: HashMap<Entity, HashSet<String>>,
}

impl LoggedErrors {
    /// Forgets a head (despawned, or its `TalkingHead` removed).
    pub(crate) fn forget(&mut self, head: Entity) {
        self.heads.remove(&head);
    }
}

enum Level {
    Error,
    Warn,
}

/// Reports problems of heads: logs each distinct one once per head and sends a [`TalkingHeadError`].
#[derive(SystemParam)]
pub struct HeadErrors<'w> {
    messages: MessageWriter<'w, TalkingHeadError>,
    logged: ResMut<'w, LoggedErrors>,
    server: Option<Res<'w, AssetServer>>,
}

impl HeadErrors<'_> {
    /// Logs `error` for `head` as an error (once per distinct text; repeats go to the debug log) and sends
    /// it as a [`TalkingHeadError`].
    pub fn report(&mut self, head: Entity, error: Error) {
        self.send(head, error, Level::Error);
    }

    /// As [`report`](Self::report), logged as a warning: for problems the head rides out by itself (a
    /// camera that went away, a bad packet), where another driver takes over meanwhile.
    pub fn warn(&mut self, head: Entity, error: Error) {
        self.send(head, error, Level::Warn);
    }

    fn send(&mut self, head: Entity, error: Error, level: Level) {
        let text = error.to_string();
        let seen = self.logged.heads.entry(head).or_default();
        if seen.contains(&text) {
            debug!("talking head {head}: {text}");
        } else {
            match level {
                Level::Error => error!("talking head {head}: {text}"),
                Level::Warn => warn!("talking head {head}: {text}"),
            }
            seen.insert(text);
        }
        self.messages.write(TalkingHeadError {
            entity: head,
            error: Arc::new(error),
        });
    }

    /// Why the asset failed to load, if it did (Bevy's message names the file and, for parsed files, the
    /// line and column; only its first line is kept, a backtrace may follow).
    pub fn load_failure(&self, id: impl Into<UntypedAssetId>) -> Option<String> {
        match self.server.as_deref()?.get_load_state(id)? {
            LoadState::Failed(e) => {
                Some(e.to_string().lines().next().unwrap_or_default().to_owned())
            }
            _ => None,
        }
    }

    /// If `handle` failed to load: reports it for `head` as an [`Error::Asset`] naming the file and
    /// returns `true`.
    pub fn report_failed_asset<A: Asset>(&mut self, head: Entity, handle: &Handle<A>) -> bool {
        let Some(message) = self.load_failure(handle) else {
            return false;
        };
        self.report(
            head,
            Error::Asset {
                path: asset_label(handle),
                message,
            },
        );
        true
    }
}

/// The asset's path for messages, `<unnamed>` for assets made in code.
pub(crate) fn asset_label<A: Asset>(handle: &Handle<A>) -> String {
    handle
        .path()
        .map_or_else(|| "<unnamed>".to_owned(), |p| p.to_string())
}
