//! The 85-bit payload: the fields of SCHEMES.md's table, packed most
//! significant first, with the limits their widths put on an entitlement.

use crate::date::Day;

/// The only format version this codec reads and writes.
pub const VERSION: u8 = 1;
/// The most seats a key can carry (10 bits; 0 means unlimited).
pub const MAX_SEATS: u32 = (1 << 10) - 1;
/// The largest `expiry_days` (14 bits): 2044-11-08.
pub const MAX_EXPIRY_DAYS: i64 = (1 << 14) - 1;
/// The largest serial a key can carry (20 bits).
pub const MAX_SERIAL: u32 = (1 << 20) - 1;

/// Field widths, most significant first (85 bits in all).
pub(super) const WIDTHS: [u32; 9] = [4, 8, 3, 8, 16, 10, 14, 20, 2];

/// The fields of an 85-bit acme-lk1 payload, as raw codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Payload {
    /// Format version (4 bits; 1).
    pub ver: u8,
    /// Legacy product id (8 bits).
    pub product: u8,
    /// Edition code (3 bits).
    pub edition: u8,
    /// Highest covered major version (8 bits).
    pub max_major: u8,
    /// Bitmap of legacy feature bits (16 bits).
    pub features: u16,
    /// Seats (10 bits; 0 = unlimited).
    pub seats: u16,
    /// Days from 2000-01-01 to the last valid day (14 bits; 0 = perpetual).
    pub expiry_days: u16,
    /// Serial (20 bits).
    pub serial: u32,
    /// Reserved (2 bits; 0).
    pub reserved: u8,
}

impl Payload {
    /// The 85-bit integer, most significant field first. Each field is cut to
    /// its width: [`Lk1::encode`](crate::schemes::lk1::Lk1::encode) refuses
    /// values that do not fit before this.
    pub fn pack(&self) -> u128 {
        let fields = self.fields();
        fields.iter().zip(WIDTHS).fold(0u128, |acc, (&v, bits)| {
            (acc << bits) | (u128::from(v) & mask(bits))
        })
    }

    /// The fields of an 85-bit integer (higher bits are ignored).
    pub fn unpack(bits: u128) -> Self {
        let mut f = [0u32; 9];
        let mut rest = bits;
        for i in (0..WIDTHS.len()).rev() {
            // Each field is at most 20 bits wide, so the cast is lossless.
            f[i] = (rest & mask(WIDTHS[i])) as u32;
            rest >>= WIDTHS[i];
        }
        Payload {
            ver: f[0] as u8,
            product: f[1] as u8,
            edition: f[2] as u8,
            max_major: f[3] as u8,
            features: f[4] as u16,
            seats: f[5] as u16,
            expiry_days: f[6] as u16,
            serial: f[7],
            reserved: f[8] as u8,
        }
    }

    fn fields(&self) -> [u32; 9] {
        [
            self.ver.into(),
            self.product.into(),
            self.edition.into(),
            self.max_major.into(),
            self.features.into(),
            self.seats.into(),
            self.expiry_days.into(),
            self.serial,
            self.reserved.into(),
        ]
    }
}

pub(super) fn mask(bits: u32) -> u128 {
    (1u128 << bits) - 1
}

/// The day `expiry_days` counts from.
pub(super) fn epoch() -> Day {
    Day::from_ymd(2000, 1, 1).expect("2000-01-01 is a date")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_pack_and_unpack() {
        let p = Payload {
            ver: 15,
            product: 255,
            edition: 7,
            max_major: 255,
            features: 0xFFFF,
            seats: 1023,
            expiry_days: 16383,
            serial: MAX_SERIAL,
            reserved: 3,
        };
        assert_eq!(p.pack(), mask(85));
        assert_eq!(Payload::unpack(p.pack()), p);
        let q = Payload {
            ver: 1,
            serial: 5,
            reserved: 2,
            ..Payload::default()
        };
        assert_eq!(q.pack(), (1u128 << 81) | (5 << 2) | 2);
        assert_eq!(Payload::unpack(q.pack()), q);
    }
}
