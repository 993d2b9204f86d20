//! The in-memory item store of the example.

use std::sync::{Arc, RwLock};

use serde::Serialize;

/// A stored item.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Item {
    /// Assigned by the store, starting at 1.
    pub id: u64,
    /// The item's name.
    pub name: String,
    /// The item's price.
    pub price: f64,
}

/// A new item as clients send it (`POST /api/items`). `#[secure_api::request]` refuses unknown
/// fields (mass assignment, OWASP API3), runs the rules below, and would not compile if `name`
/// had no upper bound.
#[secure_api::request]
#[derive(Clone, Debug)]
pub struct NewItem {
    /// 1 to 100 characters.
    #[validate(length(min = 1, max = 100))]
    pub name: String,
    /// Greater than 0, at most 1 000 000.
    #[validate(range(exclusive_min = 0.0, max = 1_000_000.0))]
    pub price: f64,
}

/// Items in memory, shared by all requests.
#[derive(Clone, Debug, Default)]
pub struct ItemStore {
    items: Arc<RwLock<Vec<Item>>>,
}

impl ItemStore {
    /// Stores `item` and returns it with its id.
    pub fn insert(&self, item: NewItem) -> Item {
        let mut items = self.items.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stored = Item { id: items.len() as u64 + 1, name: item.name, price: item.price };
        items.push(stored.clone());
        stored
    }

    /// Every item.
    pub fn list(&self) -> Vec<Item> {
        self.items.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The item with `id`.
    pub fn get(&self, id: u64) -> Option<Item> {
        let items = self.items.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        items.iter().find(|item| item.id == id).cloned()
    }
}
