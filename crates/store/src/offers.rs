//! Offers (Angebote), modelled on the Open Referral Human Services Data Specification
//! (HSDS 3.0): organisations, services, locations and the links between services and
//! locations. Each entry records who maintains it and when it was last confirmed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub url: String,
    /// Who keeps the entry up to date.
    #[serde(default)]
    pub maintainer: String,
    /// ISO date of the last confirmation (YYYY-MM-DD).
    #[serde(default)]
    pub last_confirmed: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Service {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Target groups (Zielgruppen), e.g. "Kinder", "Alleinerziehende".
    #[serde(default)]
    pub target_groups: Vec<String>,
    #[serde(default)]
    pub eligibility: String,
    /// Places, slots or cases per year; `None` when not stated.
    #[serde(default)]
    pub capacity: Option<f64>,
    #[serde(default)]
    pub schedule: String,
    #[serde(default)]
    pub cost: String,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub accessibility: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub funding: String,
    /// Validity period (ISO dates; empty = open).
    #[serde(default)]
    pub valid_from: String,
    #[serde(default)]
    pub valid_to: String,
    #[serde(default)]
    pub maintainer: String,
    #[serde(default)]
    pub last_confirmed: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Location {
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    pub name: String,
    #[serde(default)]
    pub address: String,
    /// WGS84.
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServiceAtLocation {
    pub id: String,
    pub service_id: String,
    pub location_id: String,
}

/// A complete offer directory, as imported and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Offers {
    pub organizations: Vec<Organization>,
    pub services: Vec<Service>,
    pub locations: Vec<Location>,
    pub service_at_location: Vec<ServiceAtLocation>,
}

/// An offer at a place inside an area: (service, organisation, place, target groups).
pub type OfferHere = (String, String, String, String);

impl Offers {
    /// The offers at places inside `area` (WGS84), sorted — what an area profile and a funding
    /// sheet list.
    pub fn located_in(&self, area: &quartier_geom::MultiPolygon) -> Vec<OfferHere> {
        use std::collections::HashMap;
        let services: HashMap<&str, &Service> = self.services.iter().map(|s| (s.id.as_str(), s)).collect();
        let locations: HashMap<&str, &Location> = self.locations.iter().map(|l| (l.id.as_str(), l)).collect();
        let orgs: HashMap<&str, &str> = self.organizations.iter().map(|o| (o.id.as_str(), o.name.as_str())).collect();
        let mut out: Vec<OfferHere> = self
            .service_at_location
            .iter()
            .filter_map(|k| Some((*services.get(k.service_id.as_str())?, *locations.get(k.location_id.as_str())?)))
            .filter(|(_, l)| quartier_geom::ops::contains(area, &quartier_geom::Point::new(l.longitude, l.latitude)))
            .map(|(s, l)| {
                let org = orgs.get(s.organization_id.as_str()).copied().unwrap_or("").to_string();
                (s.name.clone(), org, l.name.clone(), s.target_groups.join(", "))
            })
            .collect();
        out.sort();
        out
    }
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OfferReport {
    pub organizations: usize,
    pub services: usize,
    pub locations: usize,
    pub links: usize,
    pub dry_run: bool,
}

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
