//! The idle alarm: the object's only timer.

use super::*;

impl UserSockets {
    pub(super) fn away_after_ms(&self) -> i64 {
        crate::setting(&self.env, AWAY_AFTER_SETTING)
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(DEFAULT_AWAY_AFTER_MS, |s| (s * 1000.0) as i64)
    }

    /// Makes sure the idle alarm fires when the core next needs to look.
    pub(super) async fn arm_idle_alarm(&self, core: &Core<u32>) {
        match core.idle_check(now_ms(), self.away_after_ms()) {
            IdleCheck::CheckAt(at) => self.arm_idle_alarm_at(at).await,
            IdleCheck::GoAway => self.arm_idle_alarm_at(now_ms()).await,
            IdleCheck::Nothing => {}
        }
    }

    /// Makes sure the idle alarm fires no later than `at` (Unix ms).
    pub(super) async fn arm_idle_alarm_at(&self, at: i64) {
        let storage = self.state.storage();
        match storage.get_alarm().await {
            Ok(Some(current)) if current <= at => {}
            Ok(_) => {
                if let Err(e) = storage.set_alarm(at.saturating_sub(now_ms()).max(0)).await {
                    worker::console_error!("user: set the idle alarm: {e}");
                }
            }
            Err(e) => worker::console_error!("user: read the idle alarm: {e}"),
        }
    }
}
