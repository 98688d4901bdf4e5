//! [`NeuralRenderer`]: the few-shot talking-head model as a [`HeadRenderer`].

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};

use crossbeam_channel::{Sender, bounded};

use super::contract::{NeuralModelInfo, validate_pair};
use super::crop::FaceCrop;
use super::sketch::SketchSpec;
use crate::error::{Error, Result};
use crate::onnx::{OnnxModel, SessionOptions, TensorData};
use crate::portrait::PortraitImage;
use crate::renderer::{HeadRenderer, RenderRequest, RenderTarget};
use crate::rig::{RetargetedFace, RiggedPortraits};

const NAME: &str = "neural";

/// One head made ready for the generator: the crop the model sees and the person's embedding (the
/// embedder's mean over the portraits, the few shots). Kept in the head's
/// [`RiggedPortraits`], freed with them.
#[derive(Debug)]
pub struct NeuralHead {
    crop: FaceCrop,
    embedding: Arc<Vec<f32>>,
    shots: usize,
}

impl NeuralHead {
    /// The square of the main portrait (output pixels) the generator draws.
    pub fn crop(&self) -> FaceCrop {
        self.crop
    }

    /// The person's embedding.
    pub fn embedding(&self) -> &[f32] {
        &self.embedding
    }

    /// How many portraits the embedding averages.
    pub fn shots(&self) -> usize {
        self.shots
    }
}

/// Counters of a [`NeuralRenderer`] since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NeuralStats {
    /// Embeddings computed (one per portrait set; later frames use the cached one).
    pub embeddings: u64,
    /// Frames generated.
    pub frames: u64,
    /// Generator runs (a run draws a batch of frames).
    pub batches: u64,
    /// The largest batch so far.
    pub largest_batch: usize,
}

enum Slot {
    Pending,
    Ready(Arc<NeuralHead>),
    /// The error's text (errors are not `Clone`).
    Failed(String),
}

/// The head of one rigged portrait set for one renderer, made once (on a thread of its own).
struct HeadSlot {
    state: Mutex<Slot>,
    ready: Condvar,
    /// Someone is making (or made) the head.
    started: AtomicBool,
}

impl HeadSlot {
    fn new() -> Self {
        Self {
            state: Mutex::new(Slot::Pending),
            ready: Condvar::new(),
            started: AtomicBool::new(false),
        }
    }

    fn set(&self, slot: Slot) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = slot;
        self.ready.notify_all();
    }
}

/// Each renderer's own key in the rigged portraits' prepared data.
static NEXT_RENDERER: AtomicU64 = AtomicU64::new(1);

struct Job {
    sketch: Vec<f32>,
    embedding: Arc<Vec<f32>>,
    reply: Sender<Result<Vec<f32>>>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    running: bool,
}

/// The neural path of Zakharov et al. 2019 as a renderer: an embedder and a generator of the crate's
/// contract ([`validate_pair`]), exported by `models/training/train.py export`.
///
/// - The person's **embedding** is computed once per rigged portrait set, on a thread of its own, and
///   kept with the rigged portraits (dropped with them); until it is ready the head shows its still
///   portrait.
/// - Each **frame**: the face comes retargeted onto the main portrait by the rig stage, its landmarks are
///   drawn as the [`SketchSpec::v1`] sketch inside the face's [`FaceCrop`], the
///   generator draws that square, and it is blended into the portrait (soft edges).
/// - Frames of **all the heads that share this renderer** are batched: while the generator runs, frames
///   that arrive wait, and the next run draws them all at once (one `[B, 3, R, R]` call). Share one
///   `Arc<NeuralRenderer>` between heads ([`HeadRendererKind::Neural`](crate::HeadRendererKind::Neural)
///   does) to batch them.
/// - The execution provider is the crate's: CPU by default, CUDA, TensorRT, DirectML or CoreML with the
///   feature of that name ([`SessionOptions`]).
pub struct NeuralRenderer {
    embedder: Arc<OnnxModel>,
    generator: Arc<OnnxModel>,
    info: NeuralModelInfo,
    spec: SketchSpec,
    name: String,
    /// This renderer's key in the rigged portraits' prepared data.
    key: u64,
    queue: Mutex<Queue>,
    turn: Condvar,
    max_batch: usize,
    embeddings: AtomicU64,
    frames: AtomicU64,
    batches: AtomicU64,
    largest_batch: AtomicUsize,
    me: Weak<NeuralRenderer>,
}

impl std::fmt::Debug for NeuralRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeuralRenderer")
            .field("name", &self.name)
            .field("info", &self.info)
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

impl NeuralRenderer {
    /// Wraps a loaded embedder and generator, after [`validate_pair`].
    pub fn new(embedder: Arc<OnnxModel>, generator: Arc<OnnxModel>) -> Result<Arc<Self>> {
        Self::with_max_batch(embedder, generator, 8)
    }

    /// As [`new`](Self::new), with at most `max_batch` frames per generator run (at least 1).
    pub fn with_max_batch(
        embedder: Arc<OnnxModel>,
        generator: Arc<OnnxModel>,
        max_batch: usize,
    ) -> Result<Arc<Self>> {
        let info = validate_pair(&embedder, &generator)?;
        let name = format!("{NAME}({}, {} px)", generator.label(), info.resolution);
        Ok(Arc::new_cyclic(|me| Self {
            embedder,
            generator,
            info,
            spec: SketchSpec::v1(),
            name,
            key: NEXT_RENDERER.fetch_add(1, Ordering::Relaxed),
            queue: Mutex::new(Queue::default()),
            turn: Condvar::new(),
            max_batch: max_batch.max(1),
            embeddings: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            largest_batch: AtomicUsize::new(0),
            me: me.clone(),
        }))
    }

    /// Loads `embedder.onnx` and `generator.onnx` from `dir` (what `train.py export` writes).
    pub fn from_dir(dir: impl AsRef<Path>, options: &SessionOptions) -> Result<Arc<Self>> {
        let dir = dir.as_ref();
        let embedder = OnnxModel::from_file(dir.join("embedder.onnx"), None, options)?;
        let generator = OnnxModel::from_file(dir.join("generator.onnx"), None, options)?;
        Self::new(Arc::new(embedder), Arc::new(generator))
    }

    /// What the models declare.
    pub fn info(&self) -> NeuralModelInfo {
        self.info
    }

    /// Counters since the renderer was made.
    pub fn stats(&self) -> NeuralStats {
        NeuralStats {
            embeddings: self.embeddings.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
        }
    }

    /// The head for these rigged portraits, made now (crop, embedding) unless made already; waits for one
    /// being made by another thread.
    pub fn prepare(&self, rigged: &RiggedPortraits) -> Result<Arc<NeuralHead>> {
        let slot = self.slot(rigged)?;
        if !slot.started.swap(true, Ordering::AcqRel) {
            self.fill(&slot, rigged);
        }
        let mut state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match &*state {
                Slot::Ready(head) => return Ok(head.clone()),
                Slot::Failed(e) => return Err(self.error(e.clone())),
                Slot::Pending => state = slot.ready.wait(state).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    /// This renderer's slot in the rigged portraits.
    fn slot(&self, rigged: &RiggedPortraits) -> Result<Arc<HeadSlot>> {
        rigged.prepared(self.key, |_| Ok(HeadSlot::new()))
    }

    fn fill(&self, slot: &HeadSlot, rigged: &RiggedPortraits) {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.make_head(rigged)))
                .unwrap_or_else(|_| Err(self.error("preparing the head panicked".into())));
        slot.set(match result {
            Ok(head) => Slot::Ready(Arc::new(head)),
            Err(e) => Slot::Failed(failure_text(&self.name, e)),
        });
    }

    fn error(&self, message: String) -> Error {
        Error::Render {
            renderer: self.name.clone(),
            message,
        }
    }

    fn make_head(&self, rigged: &RiggedPortraits) -> Result<NeuralHead> {
        let r = self.info.resolution;
        let main = &rigged.rig().landmarks;
        let crop = FaceCrop::around(&main.iter().map(|p| [p[0], p[1]]).collect::<Vec<_>>())
            .ok_or_else(|| self.error("the portrait's rig spans no area".into()))?;
        let n = (r * r) as usize;
        let (mut frames, mut sketches) = (Vec::new(), Vec::new());
        let mut shots = 0;
        for (image, rig) in rigged.shots() {
            let points: Vec<[f32; 2]> = rig.landmarks.iter().map(|p| [p[0], p[1]]).collect();
            let Some(c) = FaceCrop::around(&points) else {
                continue;
            };
            let rgb = c.sample_rgb(&image.rgba, 4, image.width, image.height, r);
            let local: Vec<[f32; 2]> = points.iter().map(|p| c.to_crop(*p, r)).collect();
            frames.extend(planar(&rgb, n));
            sketches.extend(self.sketch_landmarks(&local)?);
            shots += 1;
        }
        let shape = vec![shots as i64, 3, i64::from(r), i64::from(r)];
        let out = self
            .embedder
            .run(
                vec![
                    (
                        "frames",
                        TensorData {
                            shape: shape.clone(),
                            data: frames,
                        },
                    ),
                    (
                        "sketches",
                        TensorData {
                            shape,
                            data: sketches,
                        },
                    ),
                ],
                &["embedding"],
            )?
            .remove(0);
        let d = self.info.embedding_size as usize;
        if out.data.len() != d || out.data.iter().any(|v| !v.is_finite()) {
            return Err(Error::Inference {
                path: self.embedder.label().to_owned(),
                message: format!(
                    "the embedding has shape {:?} (or values that are not numbers), expected [1, {d}]",
                    out.shape
                ),
                source: None,
            });
        }
        self.embeddings.fetch_add(1, Ordering::Relaxed);
        Ok(NeuralHead {
            crop,
            embedding: Arc::new(out.data),
            shots,
        })
    }

    /// The sketch the generator gets for a face retargeted onto `head`'s portrait: `[3, R, R]`, -1..1.
    pub fn sketch(&self, head: &NeuralHead, target: &RetargetedFace) -> Result<Vec<f32>> {
        let r = self.info.resolution;
        let local: Vec<[f32; 2]> = target
            .points
            .iter()
            .map(|p| head.crop.to_crop([p[0], p[1]], r))
            .collect();
        self.sketch_landmarks(&local)
    }

    /// The sketch of landmarks already in the pixels of the model's `R` x `R` crop: `[3, R, R]`, -1..1.
    pub fn sketch_landmarks(&self, landmarks: &[[f32; 2]]) -> Result<Vec<f32>> {
        let r = self.info.resolution;
        let rgb = self.spec.rasterise(landmarks, r)?;
        Ok(planar(&rgb, (r * r) as usize))
    }

    /// Draws one frame of a face retargeted onto `head`'s portrait: the generator's square, `[3, R, R]`
    /// in -1..1. Batched with the frames other threads ask for meanwhile.
    pub fn generate(&self, head: &NeuralHead, target: &RetargetedFace) -> Result<Vec<f32>> {
        let sketch = self.sketch(head, target)?;
        self.generate_sketch(head, sketch)
    }

    /// The generator on one sketch (`[3, R, R]`, -1..1) with `head`'s embedding, batched.
    pub fn generate_sketch(&self, head: &NeuralHead, sketch: Vec<f32>) -> Result<Vec<f32>> {
        let embedding = head.embedding.clone();
        let (reply, answer) = bounded(1);
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.jobs.push(Job {
            sketch,
            embedding,
            reply,
        });
        loop {
            if let Ok(result) = answer.try_recv() {
                return result;
            }
            if !queue.running {
                // This thread runs the next batch: every frame waiting, up to the limit.
                queue.running = true;
                let take = queue.jobs.len().min(self.max_batch);
                let batch: Vec<Job> = queue.jobs.drain(..take).collect();
                drop(queue);
                self.run_batch(batch);
                queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                queue.running = false;
                self.turn.notify_all();
                continue;
            }
            queue = self.turn.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn run_batch(&self, batch: Vec<Job>) {
        let r = i64::from(self.info.resolution);
        let d = self.info.embedding_size as usize;
        let b = batch.len();
        let per = (3 * r * r) as usize;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut sketches = Vec::with_capacity(b * per);
            let mut embeddings = Vec::with_capacity(b * d);
            for job in &batch {
                sketches.extend_from_slice(&job.sketch);
                embeddings.extend_from_slice(&job.embedding);
            }
            let out = self
                .generator
                .run(
                    vec![
                        (
                            "sketch",
                            TensorData {
                                shape: vec![b as i64, 3, r, r],
                                data: sketches,
                            },
                        ),
                        (
                            "embedding",
                            TensorData {
                                shape: vec![b as i64, d as i64],
                                data: embeddings,
                            },
                        ),
                    ],
                    &["image"],
                )?
                .remove(0);
            if out.shape != [b as i64, 3, r, r] {
                return Err(Error::Inference {
                    path: self.generator.label().to_owned(),
                    message: format!(
                        "output `image` has shape {:?}, expected [{b}, 3, {r}, {r}]",
                        out.shape
                    ),
                    source: None,
                });
            }
            Ok(out.data)
        }))
        .unwrap_or_else(|_| Err(self.error("the generator panicked".into())));
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.largest_batch.fetch_max(b, Ordering::Relaxed);
        match result {
            Ok(data) => {
                self.frames.fetch_add(b as u64, Ordering::Relaxed);
                for (job, image) in batch.into_iter().zip(data.chunks_exact(per)) {
                    let _ = job.reply.send(Ok(image.to_vec()));
                }
            }
            Err(e) => {
                let message = failure_text(&self.name, e);
                for job in batch {
                    let _ = job.reply.send(Err(self.error(message.clone())));
                }
            }
        }
    }

    /// Starts making the head for these rigged portraits on a thread of its own, if it is not made or
    /// being made; `Ok(None)` until it is ready.
    fn head_async(&self, rigged: &Arc<RiggedPortraits>) -> Result<Option<Arc<NeuralHead>>> {
        let slot = self.slot(rigged)?;
        if !slot.started.swap(true, Ordering::AcqRel) {
            let owned = rigged.clone();
            let thread_slot = slot.clone();
            let Some(me) = self.me.upgrade() else {
                return Err(self.error("the renderer is being dropped".into()));
            };
            let spawned = std::thread::Builder::new()
                .name("talking-head-neural-embed".into())
                .spawn(move || me.fill(&thread_slot, &owned));
            match spawned {
                // The frame that starts the embedding always shows the still portrait. The thread is
                // joined when the app goes (within the shutdown wait), not left detached.
                Ok(thread) => {
                    crate::threads::linger(thread);
                    return Ok(None);
                }
                Err(e) => slot.set(Slot::Failed(format!(
                    "cannot start the embedding thread: {e}"
                ))),
            }
        }
        let state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
        match &*state {
            Slot::Ready(head) => Ok(Some(head.clone())),
            Slot::Failed(e) => Err(self.error(e.clone())),
            Slot::Pending => Ok(None),
        }
    }
}

/// What a cache slot or a failed batch keeps of a failure, to be wrapped again by
/// `NeuralRenderer::error` each time it is reported: this renderer's own errors without their prefix
/// (else it would name the renderer twice).
fn failure_text(renderer: &str, e: Error) -> String {
    match e {
        Error::Render {
            renderer: name,
            message,
        } if name == renderer => message,
        e => e.to_string(),
    }
}

/// RGB bytes (HWC) -> planar floats (CHW) in -1..1.
fn planar(rgb: &[u8], n: usize) -> Vec<f32> {
    let mut out = vec![0.0; 3 * n];
    for (i, px) in rgb.chunks_exact(3).enumerate().take(n) {
        for c in 0..3 {
            out[c * n + i] = f32::from(px[c]) / 127.5 - 1.0;
        }
    }
    out
}

/// Blends the generator's square (`[3, R, R]`, -1..1) over `portrait` into `out` (both RGBA, output
/// size), through `crop`, with edges that fade over the outer eighth of the square.
pub(crate) fn composite(
    image: &[f32],
    r: u32,
    crop: FaceCrop,
    portrait: &PortraitImage,
    out: &mut [u8],
) {
    out.copy_from_slice(&portrait.rgba);
    let (w, h) = (portrait.width as i64, portrait.height as i64);
    let n = r as usize;
    let plane = n * n;
    let half = crop.side / 2.0;
    let x0 = ((crop.centre[0] - half).floor() as i64).clamp(0, w);
    let x1 = ((crop.centre[0] + half).ceil() as i64).clamp(0, w);
    let y0 = ((crop.centre[1] - half).floor() as i64).clamp(0, h);
    let y1 = ((crop.centre[1] + half).ceil() as i64).clamp(0, h);
    let feather = r as f32 / 8.0;
    // Bilinear in the planar square (pixel centres at +0.5, border replicated), the three channels
    // at once.
    let sample = |x: f32, y: f32| {
        let fx = (x - 0.5).clamp(0.0, (n - 1) as f32);
        let fy = (y - 0.5).clamp(0.0, (n - 1) as f32);
        let (ix, iy) = (fx as usize, fy as usize);
        let (jx, jy) = ((ix + 1).min(n - 1), (iy + 1).min(n - 1));
        let (ax, ay) = (fx - ix as f32, fy - iy as f32);
        [0, 1, 2].map(|c| {
            let at = |x: usize, y: usize| image[c * plane + y * n + x];
            let top = at(ix, iy) * (1.0 - ax) + at(jx, iy) * ax;
            let bottom = at(ix, jy) * (1.0 - ax) + at(jx, jy) * ax;
            top * (1.0 - ay) + bottom * ay
        })
    };
    for y in y0..y1 {
        for x in x0..x1 {
            let q = crop.to_crop([x as f32 + 0.5, y as f32 + 0.5], r);
            let edge = q[0].min(q[1]).min(r as f32 - q[0]).min(r as f32 - q[1]);
            if edge <= 0.0 {
                continue;
            }
            let t = (edge / feather).min(1.0);
            let alpha = t * t * (3.0 - 2.0 * t);
            let i = ((y * w + x) * 4) as usize;
            for (c, v) in sample(q[0], q[1]).into_iter().enumerate() {
                let v = if v.is_finite() {
                    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).clamp(0.0, 255.0)
                } else {
                    f32::from(out[i + c])
                };
                let old = f32::from(out[i + c]);
                out[i + c] = (old + (v - old) * alpha).round() as u8;
            }
        }
    }
}

impl HeadRenderer for NeuralRenderer {
    fn name(&self) -> &str {
        &self.name
    }

    fn needs_rig(&self) -> bool {
        true
    }

    fn wants_redraw(&self, request: &RenderRequest<'_>) -> bool {
        // While the embedding is being made the frame was the still portrait: ask again.
        request
            .rig
            .and_then(|r| self.slot(r).ok())
            .is_some_and(|slot| {
                matches!(
                    *slot.state.lock().unwrap_or_else(|e| e.into_inner()),
                    Slot::Pending
                )
            })
    }

    fn render(&self, request: &RenderRequest<'_>, target: &mut RenderTarget<'_>) -> Result<()> {
        let (Some(rigged), Some(face)) = (request.rig, request.target) else {
            return Err(self.error("the request carries no rig".into()));
        };
        let portrait = rigged.portrait();
        let Some(head) = self.head_async(rigged)? else {
            // The embedding is being made: the still portrait meanwhile.
            target.rgba.copy_from_slice(&portrait.rgba);
            return Ok(());
        };
        let image = self.generate(&head, face)?;
        composite(
            &image,
            self.info.resolution,
            head.crop,
            portrait,
            target.rgba,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_failure_names_the_renderer_once_when_reported_again() {
        let name = "neural(embedder.onnx, generator.onnx)";
        let own = Error::Render {
            renderer: name.into(),
            message: "the portrait's rig spans no area".into(),
        };
        let reported = Error::Render {
            renderer: name.into(),
            message: failure_text(name, own),
        }
        .to_string();
        assert_eq!(reported.matches("neural(").count(), 1, "{reported}");
        assert!(
            reported.ends_with("the portrait's rig spans no area"),
            "{reported}"
        );
        // Another renderer's (the mesh warp's) error keeps its own name inside ours.
        let warp = Error::Render {
            renderer: "mesh warp".into(),
            message: "no face".into(),
        };
        assert_eq!(
            failure_text(name, warp),
            "renderer `mesh warp` failed: no face"
        );
    }
}
