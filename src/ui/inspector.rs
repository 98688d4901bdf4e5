//! The inspector (feature `egui`): one window listing the heads; for the chosen one, its portrait with
//! the rig drawn over it, the rendered texture, the live `FaceFrame`, sliders to puppeteer every
//! expression and the pose by hand, the drivers (idle life on or off, a clip to play, the live source's
//! state), plots of render latency and dropped frames, and the renderer.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use bevy::app::{App, Last, Plugin};
use bevy::asset::{AssetServer, Handle};
use bevy::ecs::entity::Entity;
use bevy::ecs::lifecycle::RemovedComponents;
use bevy::ecs::resource::Resource;
use bevy::ecs::schedule::IntoScheduleConfigs;
use bevy::ecs::system::{Commands, Query, Res, ResMut};
use bevy::image::Image;
use bevy_egui::egui::{self, Color32, Pos2, Rect, Stroke, Vec2};
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, EguiTextureHandle};

use crate::drive::{FaceClip, FaceClipPlayer, FaceLayers, IdleLife, LiveFace};
use crate::face::{Channel, Expression, FaceFrame, FaceMask};
use crate::head::TalkingHead;
use crate::render::AssetFolder;
use crate::render::TalkingHeadStats;
use crate::rig::PortraitRig;

/// Adds the inspector window (and `EguiPlugin` if the app has none). Toggle it with
/// [`InspectorState::open`].
#[derive(Default)]
pub struct TalkingHeadInspectorPlugin;

impl Plugin for TalkingHeadInspectorPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<EguiPlugin>() {
            app.add_plugins(EguiPlugin::default());
        }
        app.init_resource::<InspectorState>()
            .add_systems(
                EguiPrimaryContextPass,
                (record_history, inspector_ui).chain(),
            )
            .add_systems(Last, forget_despawned_heads);
    }
}

/// How many frames of stats the plots keep.
const HISTORY: usize = 300;

/// The inspector's state.
#[derive(Resource)]
pub struct InspectorState {
    /// Whether the window shows.
    pub open: bool,
    selected: Option<Entity>,
    puppet: HashMap<Entity, FaceFrame>,
    history: HashMap<Entity, VecDeque<(f32, u64)>>,
    rigs: HashMap<Entity, Option<Arc<PortraitRig>>>,
    previews: HashMap<Entity, (Handle<Image>, u64)>,
    clip: String,
    video: String,
    /// The input devices, listed when the inspector opens and on "refresh" (feature `mic`).
    #[cfg(feature = "mic")]
    microphones: Option<Vec<String>>,
}

impl Default for InspectorState {
    fn default() -> Self {
        Self {
            open: true,
            selected: None,
            puppet: HashMap::new(),
            history: HashMap::new(),
            rigs: HashMap::new(),
            previews: HashMap::new(),
            clip: "clips/talk.face.ron".into(),
            video: String::new(),
            #[cfg(feature = "mic")]
            microphones: None,
        }
    }
}

impl InspectorState {
    /// How many heads the inspector keeps something for (a puppet face, a plot, a rig, a preview).
    pub fn heads_remembered(&self) -> usize {
        let mut heads: Vec<Entity> = self
            .puppet
            .keys()
            .chain(self.history.keys())
            .chain(self.rigs.keys())
            .chain(self.previews.keys())
            .copied()
            .collect();
        heads.sort();
        heads.dedup();
        heads.len()
    }

    fn forget(&mut self, head: Entity) {
        self.puppet.remove(&head);
        self.history.remove(&head);
        self.rigs.remove(&head);
        // The preview image goes with its handle.
        self.previews.remove(&head);
        if self.selected == Some(head) {
            self.selected = None;
        }
    }
}

/// A despawned head (or one whose `TalkingHead` was removed) leaves nothing behind in the inspector: its
/// puppet face, plot history, rig and preview image go with it.
fn forget_despawned_heads(
    mut removed: RemovedComponents<TalkingHead>,
    mut state: ResMut<InspectorState>,
) {
    for head in removed.read() {
        state.forget(head);
    }
}

fn record_history(stats: Res<TalkingHeadStats>, mut state: ResMut<InspectorState>) {
    for (entity, s) in stats.iter() {
        let h = state.history.entry(entity).or_default();
        h.push_back((s.last_latency.as_secs_f32() * 1e3, s.frames_dropped));
        while h.len() > HISTORY {
            h.pop_front();
        }
    }
}

/// The rig to draw over a head's first portrait: the one given with the head, else its sidecar.
fn rig_of(
    head: &TalkingHead,
    server: &AssetServer,
    folder: Option<&AssetFolder>,
) -> Option<Arc<PortraitRig>> {
    if let Some(Some(r)) = head.rigs.first() {
        return Some(r.clone());
    }
    let path = server.get_path(head.portraits.first()?.id())?;
    // Sidecars sit beside portrait files in the asset folder the plugin found (as the mesh warp reads them).
    let file = folder?.0.join(path.path());
    PortraitRig::load_sidecar(Path::new(&file), None)
        .ok()
        .flatten()
        .map(Arc::new)
}

type HeadItem<'a> = (
    Entity,
    &'a TalkingHead,
    &'a FaceFrame,
    Option<&'a mut FaceLayers>,
    Option<&'a LiveFace>,
    Option<&'a IdleLife>,
    Option<&'a mut FaceClipPlayer>,
);

#[allow(clippy::too_many_arguments)]
fn inspector_ui(
    mut contexts: EguiContexts,
    mut commands: Commands,
    mut state: ResMut<InspectorState>,
    stats: Res<TalkingHeadStats>,
    server: Res<AssetServer>,
    folder: Option<Res<AssetFolder>>,
    mut images: ResMut<bevy::asset::Assets<Image>>,
    mut heads: Query<HeadItem<'_>>,
) -> bevy::ecs::error::Result {
    if !state.open {
        return Ok(());
    }
    // Textures first (they need `contexts` mutably, the window needs its context).
    let mut textures: HashMap<Entity, (Option<egui::TextureId>, Option<egui::TextureId>)> =
        HashMap::new();
    let mut preview_textures: HashMap<Entity, egui::TextureId> = HashMap::new();
    for (entity, head, _, _, live, ..) in heads.iter() {
        let portrait = head.portraits.first().cloned();
        let main = portrait.map(|p| contexts.add_image(EguiTextureHandle::Weak(p.id())));
        let out = contexts.add_image(EguiTextureHandle::Weak(head.output().id()));
        textures.insert(entity, (main, Some(out)));
        // The live source's frame with its landmarks, as a texture updated per new sample.
        if let Some(live) = live {
            live.set_preview(state.open);
            if let Some(sample) = &live.status().last
                && let Some(p) = &sample.preview
            {
                let fresh = state
                    .previews
                    .get(&entity)
                    .is_none_or(|(_, i)| *i != sample.index);
                if fresh {
                    let image = crate::render::output_image(
                        bevy::math::UVec2::new(p.width, p.height),
                        p.rgba.clone(),
                    );
                    match state.previews.get_mut(&entity) {
                        Some((handle, index)) => {
                            if let Some(mut old) = images.get_mut(&*handle) {
                                *old = image;
                            }
                            *index = sample.index;
                        }
                        None => {
                            let handle = images.add(image);
                            state.previews.insert(entity, (handle, sample.index));
                        }
                    }
                }
                if let Some((handle, _)) = state.previews.get(&entity) {
                    preview_textures.insert(
                        entity,
                        contexts.add_image(EguiTextureHandle::Strong(handle.clone())),
                    );
                }
            }
        }
    }
    let ctx = contexts.ctx_mut()?;
    let state = &mut *state;
    egui::Window::new("Talking heads")
        .default_pos(Pos2::new(10.0, 10.0))
        .default_width(720.0)
        .show(ctx, |ui| {
            #[cfg(feature = "mic")]
            ui.collapsing("Microphones (LipSync::microphone)", |ui| {
                let list = state
                    .microphones
                    .get_or_insert_with(crate::drive::microphones);
                if list.is_empty() {
                    ui.label("none found");
                }
                for name in list.iter() {
                    ui.label(name);
                }
                if ui.button("refresh").clicked() {
                    state.microphones = None;
                }
            });
            let entities: Vec<Entity> = heads.iter().map(|h| h.0).collect();
            if entities.is_empty() {
                ui.label("no TalkingHead in the world");
                return;
            }
            if state.selected.is_none_or(|e| !entities.contains(&e)) {
                state.selected = entities.first().copied();
            }
            ui.horizontal(|ui| {
                ui.label("head");
                egui::ComboBox::from_id_salt("head")
                    .selected_text(format!("{:?}", state.selected.unwrap_or(Entity::PLACEHOLDER)))
                    .show_ui(ui, |ui| {
                        for e in &entities {
                            ui.selectable_value(&mut state.selected, Some(*e), format!("{e:?}"));
                        }
                    });
            });
            let Some(selected) = state.selected else {
                return;
            };
            let Ok((entity, head, face, layers, live, idle, player)) = heads.get_mut(selected) else {
                return;
            };
            let s = stats.get(entity).cloned().unwrap_or_default();
            // Portrait with its rig, and the rendered texture.
            let rig = state
                .rigs
                .entry(entity)
                .or_insert_with(|| rig_of(head, &server, folder.as_deref()))
                .clone();
            let (main_tex, out_tex) = textures.get(&entity).copied().unwrap_or((None, None));
            ui.horizontal(|ui| {
                let size = Vec2::splat(250.0);
                let (resp, painter) = ui.allocate_painter(size, egui::Sense::hover());
                let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
                if let Some(t) = main_tex {
                    painter.image(t, resp.rect, uv, Color32::WHITE);
                }
                let portrait_size = head
                    .portraits
                    .first()
                    .and_then(|p| images.get(p))
                    .map(|i| i.size());
                if let (Some(rig), Some(sz)) = (&rig, portrait_size) {
                    let k = Vec2::new(size.x / sz.x as f32, size.y / sz.y as f32);
                    for p in &rig.landmarks {
                        let at = resp.rect.min + Vec2::new(p[0] * k.x, p[1] * k.y);
                        painter.circle_filled(at, 1.0, Color32::from_rgb(80, 255, 120));
                    }
                    for c in rig.iris.iter().flatten() {
                        let at = resp.rect.min + Vec2::new(c[0] * k.x, c[1] * k.y);
                        painter.circle_filled(at, 2.0, Color32::RED);
                    }
                }
                let (resp, painter) = ui.allocate_painter(size, egui::Sense::hover());
                if let Some(t) = out_tex {
                    painter.image(t, resp.rect, uv, Color32::WHITE);
                }
                // The live source with its landmarks.
                if let (Some(t), Some(p)) = (
                    preview_textures.get(&entity),
                    live.and_then(|l| l.status().last.as_ref()).and_then(|s| s.preview.clone()),
                ) {
                    let k = 180.0 / p.width.max(1) as f32;
                    let size = Vec2::new(180.0, p.height as f32 * k);
                    let (resp, painter) = ui.allocate_painter(size, egui::Sense::hover());
                    painter.image(*t, resp.rect, uv, Color32::WHITE);
                    for q in &p.landmarks {
                        let at = resp.rect.min + Vec2::new(q[0] * k, q[1] * k);
                        painter.circle_filled(at, 0.8, Color32::from_rgb(80, 255, 120));
                    }
                }
            });
            ui.label(format!(
                "renderer {} | {} rendered, {} dropped, {} failed | render {:.1} ms, latency {:.1} ms{}",
                s.renderer,
                s.frames_rendered,
                s.frames_dropped,
                s.frames_failed,
                s.last_render_time.as_secs_f64() * 1e3,
                s.mean_latency.as_secs_f64() * 1e3,
                match &head.renderer {
                    crate::HeadRendererKind::ExpressionFilter(m) =>
                        format!(" | model {:?}", m.path().map(|p| p.to_string())),
                    _ => String::new(),
                }
            ));
            if let Some(h) = state.history.get(&entity) {
                plot(ui, "latency ms", h.iter().map(|x| x.0).collect());
                let drops: Vec<f32> = h
                    .iter()
                    .zip(h.iter().skip(1))
                    .map(|(a, b)| b.1.saturating_sub(a.1) as f32)
                    .collect();
                plot(ui, "frames dropped per frame", drops);
            }
            // Drivers.
            ui.separator();
            ui.horizontal(|ui| {
                let mut idle_on = idle.is_some();
                if ui.checkbox(&mut idle_on, "idle life").changed() {
                    if idle_on {
                        commands.entity(entity).insert(IdleLife::default());
                    } else {
                        commands.entity(entity).remove::<IdleLife>();
                    }
                }
                ui.label("clip");
                ui.text_edit_singleline(&mut state.clip);
                if ui.button("play").clicked() {
                    let clip: Handle<FaceClip> = server.load(state.clip.clone());
                    match player {
                        Some(mut p) => {
                            p.crossfade(clip, 0.2);
                        }
                        None => {
                            commands.entity(entity).insert(FaceClipPlayer::playing(clip));
                        }
                    }
                }
            });
            ui.horizontal(|ui| {
                ui.label("live source: video file");
                ui.text_edit_singleline(&mut state.video);
                if ui.button("track it").clicked() && !state.video.trim().is_empty() {
                    commands
                        .entity(entity)
                        .insert(LiveFace::video(state.video.trim().to_owned()));
                }
                if ui.button("webcam").clicked() {
                    commands
                        .entity(entity)
                        .insert(LiveFace::webcam(crate::capture::CameraRequest::default()));
                }
                if live.is_some() && ui.button("stop").clicked() {
                    commands.entity(entity).remove::<LiveFace>();
                }
            });
            if let Some(live) = live {
                let st = live.status();
                ui.label(format!(
                    "live: {} ({:?}), {} samples, {} dropped, presence {:.2}",
                    st.source_name,
                    st.state,
                    st.samples,
                    st.dropped,
                    live.presence()
                ));
            }
            // The face now, and puppeteering.
            ui.separator();
            ui.label(format!(
                "head yaw {:+.2} pitch {:+.2} roll {:+.2} | gaze {:+.2} {:+.2}",
                face.head.yaw, face.head.pitch, face.head.roll, face.gaze.left[0], face.gaze.left[1]
            ));
            let mut puppet = state.puppet.contains_key(&entity);
            if ui
                .checkbox(&mut puppet, "puppeteer by hand (an override layer over every driver)")
                .changed()
            {
                if puppet {
                    state.puppet.insert(entity, *face);
                } else {
                    state.puppet.remove(&entity);
                    if let Some(mut l) = layers {
                        l.clear_override();
                    }
                    return;
                }
            }
            egui::ScrollArea::vertical().max_height(260.0).show(ui, |ui| {
                egui::Grid::new("weights").num_columns(2).show(ui, |ui| {
                    let target = state.puppet.get_mut(&entity);
                    let mut frame = target.as_deref().copied().unwrap_or(*face);
                    for (c, range) in [
                        (Channel::HeadYaw, -0.6..=0.6),
                        (Channel::HeadPitch, -0.6..=0.6),
                        (Channel::HeadRoll, -0.6..=0.6),
                        (Channel::HeadX, -0.2..=0.2),
                        (Channel::HeadY, -0.2..=0.2),
                        (Channel::HeadScale, 0.8..=1.2),
                        (Channel::GazeLeftYaw, -0.5..=0.5),
                        (Channel::GazeLeftPitch, -0.5..=0.5),
                        (Channel::GazeRightYaw, -0.5..=0.5),
                        (Channel::GazeRightPitch, -0.5..=0.5),
                    ] {
                        ui.label(c.name());
                        let mut v = frame.channel(c);
                        ui.add_enabled(puppet, egui::Slider::new(&mut v, range));
                        frame.set_channel(c, v);
                        ui.end_row();
                    }
                    for e in Expression::ALL {
                        ui.label(e.name());
                        let mut v = frame.expressions.get(e);
                        ui.add_enabled(puppet, egui::Slider::new(&mut v, 0.0..=1.0));
                        frame.expressions.set(e, v);
                        ui.end_row();
                    }
                    if let Some(t) = target {
                        *t = frame;
                    }
                });
            });
            if let Some(frame) = state.puppet.get(&entity) {
                match layers {
                    Some(mut l) => l.set_override(*frame, 1.0, FaceMask::ALL),
                    None => {
                        let mut l = FaceLayers::default();
                        l.set_override(*frame, 1.0, FaceMask::ALL);
                        commands.entity(entity).insert(l);
                    }
                }
            }
        });
    Ok(())
}

/// A small line plot of `values` (newest right), with its range.
fn plot(ui: &mut egui::Ui, label: &str, values: Vec<f32>) {
    let max = values.iter().cloned().fold(0.0f32, f32::max).max(1e-3);
    ui.horizontal(|ui| {
        let (resp, painter) = ui.allocate_painter(Vec2::new(360.0, 40.0), egui::Sense::hover());
        painter.rect_filled(resp.rect, 2.0, Color32::from_gray(30));
        let n = values.len().max(2) as f32;
        let points: Vec<Pos2> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Pos2::new(
                    resp.rect.left() + resp.rect.width() * i as f32 / (n - 1.0),
                    resp.rect.bottom() - resp.rect.height() * (v / max),
                )
            })
            .collect();
        painter.line(points, Stroke::new(1.5, Color32::from_rgb(255, 190, 80)));
        ui.label(format!(
            "{label}: last {:.1}, max {max:.1}",
            values.last().copied().unwrap_or(0.0)
        ));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_despawned_head_leaves_nothing_in_the_inspector() {
        let mut app = App::new();
        app.init_resource::<InspectorState>()
            .add_systems(Last, forget_despawned_heads);
        let heads: Vec<Entity> = (0..3)
            .map(|_| {
                app.world_mut()
                    .spawn(TalkingHead::new(Handle::default()))
                    .id()
            })
            .collect();
        {
            let mut state = app.world_mut().resource_mut::<InspectorState>();
            for &h in &heads {
                state.puppet.insert(h, FaceFrame::neutral());
                state.history.insert(h, VecDeque::from([(1.0, 0)]));
                state.rigs.insert(h, None);
                state.previews.insert(h, (Handle::default(), 0));
            }
            state.selected = Some(heads[0]);
        }
        app.update();
        assert_eq!(
            app.world().resource::<InspectorState>().heads_remembered(),
            3
        );
        app.world_mut().despawn(heads[0]);
        app.world_mut().despawn(heads[1]);
        app.update();
        let state = app.world().resource::<InspectorState>();
        assert_eq!(state.heads_remembered(), 1);
        assert!(state.puppet.contains_key(&heads[2]));
        assert_eq!(state.selected, None);
    }
}
