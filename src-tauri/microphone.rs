//! The microphone, for voice memos recorded in the composer. WebKitGTK ships with capture
//! (`getUserMedia`) switched off and denies every request nobody answers; the window shows
//! only Hearth's own pages (the CSP allows nothing remote), so Hearth turns capture on and
//! grants its own page the microphone when the user presses Record. Cameras and screen
//! capture stay refused. Elsewhere the platform's webview asks the user itself.

/// Set this to use WebKit's built-in test microphone (a tone) instead of a real device, for
/// end-to-end tests on machines with no sound card.
pub const MOCK_MICROPHONE_ENV: &str = "HEARTH_MOCK_MICROPHONE";

/// Lets the window's page record audio.
pub fn allow(window: &tauri::WebviewWindow) {
    #[cfg(target_os = "linux")]
    {
        let mock = std::env::var_os(MOCK_MICROPHONE_ENV).is_some_and(|value| value == "1");
        let attached = window.with_webview(move |webview| linux::allow(&webview.inner(), mock));
        if let Err(error) = attached {
            eprintln!("Hearth cannot set up the microphone; recording voice memos will not work: {error}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

#[cfg(target_os = "linux")]
mod linux {
    use webkit2gtk::glib::prelude::{Cast as _, ObjectExt as _};
    use webkit2gtk::{
        DeviceInfoPermissionRequest, PermissionRequestExt as _, SettingsExt as _, UserMediaPermissionRequest,
        UserMediaPermissionRequestExt as _, WebViewExt as _,
    };

    pub fn allow(webview: &webkit2gtk::WebView, mock: bool) {
        if let Some(settings) = webview.settings() {
            settings.set_enable_media_stream(true);
            settings.set_enable_mock_capture_devices(mock);
        }
        webview.connect_permission_request(|_, request| {
            if let Some(media) = request.downcast_ref::<UserMediaPermissionRequest>() {
                if media.is_for_audio_device() && !media.is_for_video_device() {
                    request.allow();
                } else {
                    request.deny();
                }
                return true;
            }
            // Listing the microphones (their labels) comes with capture.
            if request.is::<DeviceInfoPermissionRequest>() {
                request.allow();
                return true;
            }
            false
        });
    }
}
