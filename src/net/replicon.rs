//! Face streams over [bevy_replicon](https://docs.rs/bevy_replicon) (feature `replicon`), with any of its
//! transports (renet, quinnet, aeronet, Steam...).
//!
//! - Each client gives its own head a [`FaceSender`]; its packets go to the server as [`FaceUpload`]
//!   client messages on the unreliable channel (a lost packet is bridged by the receivers, never resent).
//! - The server spawns an avatar entity per player with [`FaceStreamOwner`] (which makes it
//!   [`Replicated`] and gives it the replicated [`FaceStream`] marker). Each upload that decodes is
//!   relayed as a [`FaceRelay`] server message, unreliable, to every client but its sender (who animates
//!   its own head without the round trip) that can see the avatar: a client from which the game's
//!   visibility filters hide anything of the avatar gets none of its faces. Uploads over a client's
//!   [`RelayLimit`] are dropped. Each client
//!   finds its copy of that avatar in replicon's [`ServerEntityMap`]; a face for an avatar it does not
//!   have (the player just left, the avatar is not replicated to it yet) is dropped and counted in
//!   [`ReceiveStats`]. (Replicon's entity mapping would log an error for each of those.) Relayed
//!   faces are independent of replication: they play as they arrive instead of waiting for the
//!   server's reliable updates.
//!   Uploads that do not decode are dropped and reported once per client. Each packet crosses each
//!   link once: no resending of stale faces (a replicated component would be sent again every server
//!   tick until acknowledged).
//! - On clients, each replicated avatar with a `FaceStream` (every player's but your own: the marker is
//!   hidden from the owner) gets a [`RemoteFace`] (on a listen server, add it yourself to the avatars
//!   the host shows: the relayed packets reach the host too) that plays the relayed packets through its jitter
//!   buffer into the head's tracking layer. Give that entity a [`TalkingHead`](crate::TalkingHead) (and,
//!   if you like, an [`IdleLife`](crate::drive::IdleLife) for when the stream stalls) and it moves with
//!   the player's face.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_replicon::prelude::*;
//! use bevy_talking_head::net::replicon::{FaceReplicationPlugin, FaceStreamOwner};
//! use bevy_talking_head::prelude::*;
//!
//! let mut app = App::new();
//! app.add_plugins((DefaultPlugins, RepliconPlugins /* , your transport's plugins */))
//!     .add_plugins((TalkingHeadPlugins, FaceReplicationPlugin))
//!     .add_observer(spawn_avatar);
//!
//! /// Server: an avatar for each client that connects.
//! fn spawn_avatar(add: On<Add, AuthorizedClient>, mut commands: Commands) {
//!     commands.spawn(FaceStreamOwner(ClientId::Client(add.entity)));
//! }
//! ```
//!
//! Registration order must be the same on the server and the clients (replicon checks it): add this
//! plugin in the same place in both.

use std::collections::HashMap;

use bevy::prelude::*;
use bevy_replicon::prelude::*;
use bevy_replicon::server::visibility::client_visibility::ClientVisibility;
use bevy_replicon::server::visibility::registry::FilterRegistry;
use bevy_replicon::shared::server_entity_map::ServerEntityMap;
use serde::{Deserialize, Serialize};

use super::{FacePacket, FaceSender, RemoteFace};
use crate::face::FaceFrame;
use crate::schedule::TalkingHeadSystems;

/// Marks a player's avatar entity as carrying a face stream. Replicated to every client but the
/// avatar's owner; clients give such entities a [`RemoteFace`].
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceStream;

/// On the server: which client's uploads drive this avatar. Makes the entity replicated with a
/// [`FaceStream`], which its owner does not receive.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
#[component(immutable)]
#[require(Replicated, FaceStream)]
pub struct FaceStreamOwner(pub ClientId);

impl VisibilityFilter for FaceStreamOwner {
    type ClientComponent = AuthorizedClient;
    type Scope = SingleComponent<FaceStream>;

    fn is_visible(&self, client: Entity, _: Option<&AuthorizedClient>) -> bool {
        self.0 != ClientId::Client(client)
    }
}

/// A client's face packet on its way to the server.
#[derive(Message, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Deref)]
pub struct FaceUpload(pub FacePacket);

/// A player's face packet relayed by the server to the other clients.
#[derive(Message, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceRelay {
    /// The avatar it drives: its entity on the server (not mapped to the client's entity on the way;
    /// the receiving system looks it up, so faces for avatars a client does not have are dropped
    /// quietly).
    #[serde(with = "bevy_replicon::compact_entity")]
    pub avatar: Entity,
    /// The face.
    pub packet: FacePacket,
}

/// Registers the [`FaceStream`] marker, the [`FaceUpload`] and [`FaceRelay`] messages, and adds the
/// systems that send, relay and receive faces. Add it after `RepliconPlugins`, on the server and on
/// every client.
#[derive(Default)]
pub struct FaceReplicationPlugin;

impl Plugin for FaceReplicationPlugin {
    fn build(&self, app: &mut App) {
        assert!(
            app.is_plugin_added::<RepliconSharedPlugin>(),
            "FaceReplicationPlugin: add bevy_replicon's RepliconPlugins before it"
        );
        app.replicate::<FaceStream>()
            .add_client_message::<FaceUpload>(Channel::Unreliable)
            .add_server_message::<FaceRelay>(Channel::Unreliable)
            .make_message_independent::<FaceRelay>()
            .add_visibility_filter::<FaceStreamOwner>()
            .init_resource::<RelayStats>()
            .init_resource::<RelayLimit>()
            .init_resource::<ReceiveStats>()
            .add_observer(play_replicated_streams)
            .add_observer(forget_client)
            .add_systems(
                PreUpdate,
                (
                    relay_uploads
                        .after(ServerSystems::Receive)
                        .run_if(in_state(ServerState::Running)),
                    receive_relayed.after(ClientSystems::Receive),
                )
                    .chain(),
            )
            .add_systems(
                PostUpdate,
                send_faces
                    .after(TalkingHeadSystems::Compose)
                    .before(ClientSystems::Send),
            );
    }
}

/// What the server's relay has done, for a server overlay or a log.
#[derive(Resource, Clone, Debug, Default)]
pub struct RelayStats {
    /// Uploads relayed to the other clients.
    pub relayed: u64,
    /// Uploads not newer than the avatar's newest (reordered or duplicated on the way).
    pub stale: u64,
    /// Uploads whose face did not decode.
    pub rejected: u64,
    /// Uploads from a client with no avatar.
    pub unowned: u64,
    /// Uploads over their client's [`RelayLimit`]: dropped, not relayed.
    pub throttled: u64,
    /// Faces not sent to a client because a visibility filter hides the avatar from it.
    pub hidden: u64,
    /// The newest sequence number and clock relayed for each client, and whether it was warned about
    /// bad uploads.
    newest: HashMap<ClientId, (Option<(u32, u32)>, bool)>,
    /// Each client's token bucket: tokens left and when it was last filled (server's real clock).
    buckets: HashMap<ClientId, (f64, f64)>,
}

/// Server: how many uploads a second each client may have relayed (a token bucket). One client
/// sending faster (a modified client, a bug) cannot flood the others: what is over the limit is dropped
/// and counted in [`RelayStats::throttled`]. The default, 60 a second with bursts of 10, is twice a
/// [`FaceSender`]'s default 30 Hz; raise it if your senders use a higher [`FaceSender::at_rate`].
#[derive(Resource, Clone, Copy, Debug, PartialEq)]
pub struct RelayLimit {
    /// Uploads a second, sustained.
    pub per_second: f64,
    /// Uploads at once after a quiet spell (a hitch on the sender's side).
    pub burst: f64,
}

impl Default for RelayLimit {
    fn default() -> Self {
        Self {
            per_second: 60.0,
            burst: 10.0,
        }
    }
}

impl RelayStats {
    /// Takes a token from `client`'s bucket at `now` (seconds); `false` if it has none.
    fn take_token(&mut self, client: ClientId, now: f64, limit: RelayLimit) -> bool {
        let burst = limit.burst.max(1.0);
        let (tokens, at) = self.buckets.entry(client).or_insert((burst, now));
        let elapsed = (now - *at).max(0.0);
        *tokens = (*tokens + elapsed * limit.per_second.max(0.0)).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What a client has done with the faces the server relayed to it, for an overlay or a log.
#[derive(Resource, Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiveStats {
    /// Faces given to their avatar's [`RemoteFace`].
    pub played: u64,
    /// Faces for an avatar this client does not have (the player left, the avatar is not replicated
    /// here yet, or visibility filters hide it from this client), or that has no `RemoteFace`:
    /// dropped.
    pub unknown: u64,
}

/// Clients: packets of each [`FaceSender`] head's face.
fn send_faces(
    time: Res<Time<Real>>,
    mut senders: Query<(&mut FaceSender, &FaceFrame)>,
    mut uploads: MessageWriter<FaceUpload>,
) {
    let now = time.elapsed_secs_f64();
    for (mut sender, face) in &mut senders {
        if let Some(packet) = sender.poll(face, now) {
            uploads.write(FaceUpload(packet));
        }
    }
}

/// Server: each upload within its client's [`RelayLimit`] that decodes and is newer goes to everyone but
/// its sender.
fn relay_uploads(
    (time, limit): (Res<Time<Real>>, Res<RelayLimit>),
    mut uploads: MessageReader<FromClient<FaceUpload>>,
    avatars: Query<(Entity, &FaceStreamOwner)>,
    clients: Query<(Entity, Option<&ClientVisibility>), With<AuthorizedClient>>,
    filters: Res<FilterRegistry>,
    mut stats: ResMut<RelayStats>,
    mut relay: MessageWriter<ToClients<FaceRelay>>,
) {
    let now = time.elapsed_secs_f64();
    // The filter that hides the `FaceStream` marker from the avatar's owner says nothing about others.
    let own_bit = filters.get_bit::<FaceStreamOwner>();
    for FromClient {
        client_id,
        message: FaceUpload(packet),
    } in uploads.read()
    {
        let Some((avatar, _)) = avatars.iter().find(|(_, o)| o.0 == *client_id) else {
            stats.unowned += 1;
            debug!("face upload from {client_id:?}, which has no avatar (FaceStreamOwner)");
            continue;
        };
        // Before decoding: a flood costs the server one check a packet.
        if !stats.take_token(*client_id, now, *limit) {
            stats.throttled += 1;
            continue;
        }
        let (newest, warned) = stats.newest.get(client_id).copied().unwrap_or_default();
        // A redundant copy that does not decode is dropped; the face itself goes on.
        let bad_copy = match packet.faces() {
            Ok((_, previous)) => previous.is_some_and(|p| p.is_err()),
            Err(e) => {
                stats.rejected += 1;
                if !warned {
                    warn!(
                        "face upload from {client_id:?} for avatar {avatar} is not a face ({e}); \
                         dropped (further bad uploads from this client are only counted)"
                    );
                }
                stats.newest.insert(*client_id, (newest, true));
                continue;
            }
        };
        // Newer, or a sender that started over (numbering back by more than a minute's worth).
        if newest.is_some_and(|(n, ms)| {
            packet.seq <= n && n - packet.seq <= 1024 && packet.time_ms.wrapping_sub(ms) as i32 <= 0
        }) {
            stats.stale += 1;
            continue;
        }
        stats
            .newest
            .insert(*client_id, (Some((packet.seq, packet.time_ms)), warned));
        stats.relayed += 1;
        let mut packet = packet.clone();
        if bad_copy {
            packet.previous = None;
        }
        // Only to the clients that can see the avatar: a face hidden by a visibility filter is not sent
        // (a modified client could read it). The host of a listen server gets it locally.
        for (client, visibility) in &clients {
            if ClientId::Client(client) == *client_id {
                continue;
            }
            let hidden =
                visibility.is_some_and(|v| v.get(avatar).iter().any(|bit| Some(bit) != own_bit));
            if hidden {
                stats.hidden += 1;
                continue;
            }
            relay.write(ToClients {
                targets: SendTargets::Single(ClientId::Client(client)),
                message: FaceRelay {
                    avatar,
                    packet: packet.clone(),
                },
            });
        }
        if *client_id != ClientId::Server {
            relay.write(ToClients {
                targets: SendTargets::Single(ClientId::Server),
                message: FaceRelay { avatar, packet },
            });
        }
    }
}

/// Clients: relayed packets into their avatar's [`RemoteFace`]. (A listen server receives them too:
/// give the avatars it shows a `RemoteFace` yourself; the automatic one is only for clients.)
fn receive_relayed(
    time: Res<Time<Real>>,
    server: Res<State<ServerState>>,
    // Absent on a dedicated server (replicon's client plugin disabled).
    entities: Option<Res<ServerEntityMap>>,
    mut relayed: MessageReader<FaceRelay>,
    mut avatars: Query<&mut RemoteFace>,
    mut stats: ResMut<ReceiveStats>,
) {
    let now = time.elapsed_secs_f64();
    for FaceRelay { avatar, packet } in relayed.read() {
        // A listen server receives its own entities; a client maps the server's to its own.
        let local = if *server.get() == ServerState::Running {
            Some(*avatar)
        } else {
            entities
                .as_ref()
                .and_then(|map| map.to_client().get(avatar).copied())
        };
        match local.and_then(|e| avatars.get_mut(e).ok()) {
            Some(mut remote) => {
                stats.played += 1;
                // A bad packet is remembered by the RemoteFace and reported when it plays.
                let _ = remote.push(packet, now);
            }
            None => {
                if stats.unknown == 0 {
                    debug!(
                        "relayed face for server avatar {avatar}, which this client does not play \
                         (left, not replicated here yet, or hidden); dropped (further ones are only \
                         counted in ReceiveStats)"
                    );
                }
                stats.unknown += 1;
            }
        }
    }
}

/// A replicated avatar that does not play a stream yet and is not this client's own head.
type NewRemoteAvatar = (With<Remote>, Without<RemoteFace>, Without<FaceSender>);

/// Server: a client that leaves is forgotten by the relay.
fn forget_client(remove: On<Remove, ConnectedClient>, mut stats: ResMut<RelayStats>) {
    stats.newest.remove(&ClientId::Client(remove.entity));
    stats.buckets.remove(&ClientId::Client(remove.entity));
}

/// Clients: a replicated avatar with a stream plays it (unless the game gave it its own `RemoteFace`,
/// or it is a local sender).
fn play_replicated_streams(
    add: On<Add, FaceStream>,
    avatars: Query<(), NewRemoteAvatar>,
    mut commands: Commands,
) {
    if avatars.contains(add.entity) {
        commands.entity(add.entity).insert(RemoteFace::default());
    }
}
