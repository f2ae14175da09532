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
