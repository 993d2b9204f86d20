//! The in-memory item store of the example.

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

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

/// A new item as clients send it. Unknown fields are refused (mass assignment, OWASP API3).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// 1 to 100 characters.
    pub name: String,
    /// Greater than 0, at most 1 000 000.
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
