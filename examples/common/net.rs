//! Renet (UDP, netcode) server and client set-up for bevy_replicon, shared by the `multiplayer_avatars`
//! example, the loopback test and the network benchmark. Unsecure netcode: fine on a LAN and for
//! examples; a game on the internet issues connect tokens from its backend instead.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::SystemTime;

use bevy::prelude::*;
use bevy_replicon::prelude::*;
use bevy_replicon_renet::netcode::{
    ClientAuthentication, NetcodeClientTransport, NetcodeServerTransport, ServerAuthentication,
    ServerConfig,
};
use bevy_replicon_renet::renet::ConnectionConfig;
use bevy_replicon_renet::{RenetChannelsExt, RenetClient, RenetServer};
use bevy_talking_head::net::replicon::FaceStreamOwner;

/// Tells this crate's peers from other netcode games.
pub const PROTOCOL_ID: u64 = 0x7a1c_4e4d;

fn connection(world: &World) -> ConnectionConfig {
    let channels = world.resource::<RepliconChannels>();
    ConnectionConfig {
        server_channels_config: channels.server_configs(),
        client_channels_config: channels.client_configs(),
        ..default()
    }
}

fn now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Makes `world` a server listening on `addr` (port 0: any free port); returns the address it got.
/// Call after the plugins' `finish` (replicon sizes its channels there), e.g. from a `Startup` system.
pub fn listen(world: &mut World, addr: SocketAddr, max_clients: usize) -> io::Result<SocketAddr> {
    let socket = UdpSocket::bind(addr)?;
    let addr = socket.local_addr()?;
    let transport = NetcodeServerTransport::new(
        ServerConfig {
            current_time: now(),
            max_clients,
            protocol_id: PROTOCOL_ID,
            authentication: ServerAuthentication::Unsecure,
            public_addresses: vec![addr],
        },
        socket,
    )?;
    let server = RenetServer::new(connection(world));
    world.insert_resource(server);
    world.insert_resource(transport);
    Ok(addr)
}

/// Makes `world` a client of the server at `server` (`client_id` must be unique among its clients).
pub fn connect(world: &mut World, client_id: u64, server: SocketAddr) -> io::Result<()> {
    let local = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(local)?;
    let transport = NetcodeClientTransport::new(
        now(),
        ClientAuthentication::Unsecure {
            client_id,
            protocol_id: PROTOCOL_ID,
            server_addr: server,
            user_data: None,
        },
        socket,
    )
    .map_err(io::Error::other)?;
    let client = RenetClient::new(connection(world));
    world.insert_resource(client);
    world.insert_resource(transport);
    Ok(())
}

/// Server: a client's avatar (its `FaceStreamOwner` entity) goes when the client goes. An observer:
/// `app.add_observer(net::despawn_avatar_of_leaving_client)`.
#[allow(dead_code)] // not by the network benchmark
pub fn despawn_avatar_of_leaving_client(
    remove: On<Remove, ConnectedClient>,
    avatars: Query<(Entity, &FaceStreamOwner)>,
    mut commands: Commands,
) {
    for (avatar, owner) in &avatars {
        if owner.0 == ClientId::Client(remove.entity) {
            commands.entity(avatar).despawn();
        }
    }
}
