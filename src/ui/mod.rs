//! egui widgets (feature `egui`): the inspector ([`TalkingHeadInspectorPlugin`]) and the stats table.

mod inspector;

pub use inspector::{InspectorState, TalkingHeadInspectorPlugin};

use bevy_egui::egui;

use crate::render::TalkingHeadStats;

/// Draws a table of every head's render stats into `ui`.
pub fn stats_table(ui: &mut egui::Ui, stats: &TalkingHeadStats) {
    let mut rows: Vec<_> = stats.iter().collect();
    rows.sort_by_key(|(e, _)| *e);
    egui::Grid::new("talking_head_stats")
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "head",
                "renderer",
                "rendered",
                "dropped",
                "failed",
                "latency ms",
                "render ms",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for (entity, s) in rows {
                ui.label(entity.to_string());
                ui.label(&s.renderer);
                ui.label(s.frames_rendered.to_string());
                ui.label(s.frames_dropped.to_string());
                ui.label(s.frames_failed.to_string());
                ui.label(format!("{:.1}", s.mean_latency.as_secs_f64() * 1e3));
                ui.label(format!("{:.1}", s.last_render_time.as_secs_f64() * 1e3));
                ui.end_row();
            }
        });
}
