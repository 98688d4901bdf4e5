//! espeak-ng's library, loaded at run time: speech with the time of every phoneme, from espeak's own
//! phoneme events (the sample where each phoneme starts, named in IPA). The command-line program writes
//! audio but no timing; the library reports both.

use std::ffi::{CString, c_char, c_int, c_short, c_uint, c_void};
use std::sync::Mutex;

/// `espeak_EVENT` from speak_lib.h (the union `id` is 8 bytes: a phoneme's name in `string`).
#[repr(C)]
struct Event {
    kind: c_int,
    unique_identifier: c_uint,
    text_position: c_int,
    length: c_int,
    audio_position: c_int,
    sample: c_int,
    user_data: *mut c_void,
    id: [u8; 8],
}

const EVENT_LIST_TERMINATED: c_int = 0;
const EVENT_PHONEME: c_int = 7;
const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const INITIALIZE_PHONEME_EVENTS: c_int = 0x0001;
const INITIALIZE_PHONEME_IPA: c_int = 0x0002;
const INITIALIZE_DONT_EXIT: c_int = 0x8000;
const CHARS_UTF8: c_uint = 1;
const POS_CHARACTER: c_int = 1;

type Callback = extern "C" fn(*mut c_short, c_int, *mut Event) -> c_int;

struct Espeak {
    _lib: libloading::Library,
    set_voice: unsafe extern "C" fn(*const c_char) -> c_int,
    synth: unsafe extern "C" fn(
        *const c_void,
        usize,
        c_uint,
        c_int,
        c_uint,
        c_uint,
        *mut c_uint,
        *mut c_void,
    ) -> c_int,
    synchronize: unsafe extern "C" fn() -> c_int,
    rate: u32,
}

/// Samples, and phonemes as (first sample, IPA name).
type Collected = (Vec<f32>, Vec<(usize, String)>);
/// What the callback collects (espeak calls it on the synthesising thread, inside `espeak_Synth`).
static COLLECTED: Mutex<Collected> = Mutex::new((Vec::new(), Vec::new()));
/// espeak is one global synthesiser: one utterance at a time, process-wide.
static ESPEAK: Mutex<Option<Espeak>> = Mutex::new(None);

extern "C" fn collect(wav: *mut c_short, n: c_int, events: *mut Event) -> c_int {
    let mut got = COLLECTED.lock().unwrap_or_else(|e| e.into_inner());
    if !wav.is_null() && n > 0 {
        // SAFETY: espeak passes `n` samples at `wav`.
        let samples = unsafe { std::slice::from_raw_parts(wav, n as usize) };
        got.0.extend(samples.iter().map(|&s| s as f32 / 32768.0));
    }
    let mut e = events;
    // SAFETY: the event list ends with an EVENT_LIST_TERMINATED entry.
    unsafe {
        while !e.is_null() && (*e).kind != EVENT_LIST_TERMINATED {
            if (*e).kind == EVENT_PHONEME {
                let id = &(*e).id;
                let len = id.iter().position(|&b| b == 0).unwrap_or(8);
                let name = String::from_utf8_lossy(&id[..len]).into_owned();
                got.1.push(((*e).sample.max(0) as usize, name));
            }
            e = e.add(1);
        }
    }
    0
}

fn open() -> Result<Espeak, String> {
    // SAFETY: loading espeak-ng runs no initialisers beyond the C library's own.
    let lib = unsafe { libloading::Library::new("libespeak-ng.so.1") }
        .map_err(|e| format!("libespeak-ng.so.1: {e} (Debian: apt-get install espeak-ng)"))?;
    // SAFETY: the signatures are those of speak_lib.h (espeak-ng 1.5x).
    unsafe {
        let initialize: libloading::Symbol<
            unsafe extern "C" fn(c_int, c_int, *const c_char, c_int) -> c_int,
        > = lib.get(b"espeak_Initialize").map_err(|e| e.to_string())?;
        let set_callback: libloading::Symbol<unsafe extern "C" fn(Callback)> = lib
            .get(b"espeak_SetSynthCallback")
            .map_err(|e| e.to_string())?;
        let rate = initialize(
            AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            std::ptr::null(),
            INITIALIZE_PHONEME_EVENTS | INITIALIZE_PHONEME_IPA | INITIALIZE_DONT_EXIT,
        );
        if rate <= 0 {
            return Err(format!("espeak_Initialize failed ({rate})"));
        }
        set_callback(collect);
        let set_voice = *lib
            .get(b"espeak_SetVoiceByName")
            .map_err(|e| e.to_string())?;
        let synth = *lib.get(b"espeak_Synth").map_err(|e| e.to_string())?;
        let synchronize = *lib.get(b"espeak_Synchronize").map_err(|e| e.to_string())?;
        Ok(Espeak {
            _lib: lib,
            set_voice,
            synth,
            synchronize,
            rate: rate as u32,
        })
    }
}

/// One utterance: mono samples in `-1..=1`, its rate, and where each phoneme starts (sample, IPA name;
/// an empty name is a pause).
pub struct Speech {
    pub samples: Vec<f32>,
    pub rate: u32,
    pub phonemes: Vec<(usize, String)>,
}

/// `text` spoken by espeak-ng's `voice` (`en-us+f4`: language and variant). `Err` if the library is not
/// installed or the voice does not exist.
pub fn speak(voice: &str, text: &str) -> Result<Speech, String> {
    let mut guard = ESPEAK.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(open()?);
    }
    let es = guard.as_ref().unwrap();
    {
        let mut got = COLLECTED.lock().unwrap_or_else(|e| e.into_inner());
        got.0.clear();
        got.1.clear();
    }
    let v = CString::new(voice).map_err(|e| e.to_string())?;
    let t = CString::new(text).map_err(|e| e.to_string())?;
    // SAFETY: NUL-terminated strings that outlive the calls; synchronous output returns when done.
    unsafe {
        if (es.set_voice)(v.as_ptr()) != 0 {
            return Err(format!("espeak-ng has no voice `{voice}`"));
        }
        let bytes = t.as_bytes_with_nul();
        let r = (es.synth)(
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            POS_CHARACTER,
            0,
            CHARS_UTF8,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        if r != 0 {
            return Err(format!("espeak_Synth failed ({r})"));
        }
        (es.synchronize)();
    }
    let mut got = COLLECTED.lock().unwrap_or_else(|e| e.into_inner());
    let mut phonemes = std::mem::take(&mut got.1);
    phonemes.sort_by_key(|p| p.0);
    Ok(Speech {
        samples: std::mem::take(&mut got.0),
        rate: es.rate,
        phonemes,
    })
}
