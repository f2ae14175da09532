//! Checks of an offers delivery against what is stored: locations outside every area, and
//! organisations and locations that are likely stored already under another id.

use quartier_store::offers::{Location, Offers};

/// The locations that lie outside every area: (id, name). `areas` are the area geometries of
/// one level (WGS84), usually the lowest level that has geometries.
pub fn outside(locations: &[Location], areas: &[(String, quartier_geom::MultiPolygon)]) -> Vec<(String, String)> {
    if areas.is_empty() {
        return vec![];
    }
    let index = quartier_geom::locate::PointIndex::new(areas.iter().map(|(_, g)| g.clone()).collect());
    locations.iter().filter(|l| index.locate(l.longitude, l.latitude).is_none()).map(|l| (l.id.clone(), l.name.clone())).collect()
}

/// Two names of the same organisation or place, most likely: equal after normalising (case,
/// punctuation, spaces, "e. V."/"e.V.", umlauts) or, from six letters on, within two edits.
pub fn similar_name(a: &str, b: &str) -> bool {
    use quartier_core::names::{distance, normalise};
    let (x, y) = (normalise(a), normalise(b));
    !x.is_empty() && (x == y || (x.len() >= 6 && distance(&x, &y) <= 2))
}

/// Organisations and locations of a delivery that look like stored ones under another id:
/// the same name after normalising (case, punctuation, spaces, "e. V."/"e.V.", umlauts) or
/// within two edits of it, or — for locations — the same address. One German sentence each.
pub fn likely_duplicates(new: &Offers, stored: &Offers) -> Vec<String> {
    let mut out = Vec::new();
    for o in &new.organizations {
        if let Some(s) = stored.organizations.iter().find(|s| s.id != o.id && similar_name(&s.name, &o.name)) {
            out.push(format!("Träger „{}“ (Kennung {}) ähnelt dem vorhandenen „{}“ (Kennung {})", o.name, o.id, s.name, s.id));
        }
    }
    // Metres between two WGS84 points (equirectangular; exact enough within a city).
    let metres = |a: &Location, b: &Location| {
        let k = 111_195.0;
        let dy = (a.latitude - b.latitude) * k;
        let dx = (a.longitude - b.longitude) * k * a.latitude.to_radians().cos();
        (dx * dx + dy * dy).sqrt()
    };
    use quartier_core::names::normalise;
    for l in &new.locations {
        let same_address = |s: &Location| !l.address.trim().is_empty() && normalise(&s.address) == normalise(&l.address);
        let found = stored.locations.iter().filter(|s| s.id != l.id).find_map(|s| {
            if same_address(s) {
                Some((s, "dieselbe Adresse"))
            } else if similar_name(&s.name, &l.name) && metres(s, l) < 100.0 {
                Some((s, "einen ähnlichen Namen keine 100 m entfernt"))
            } else {
                None
            }
        });
        if let Some((s, why)) = found {
            out.push(format!("Standort „{}“ (Kennung {}) hat {why} wie der vorhandene „{}“ (Kennung {})", l.name, l.id, s.name, s.id));
        }
    }
    out
}
