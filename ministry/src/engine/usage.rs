//! Disk usage (`docker system df`, `GET /system/df`), computed by the engine: images
//! (with the size they share with other images), containers' own layers, volumes.

use std::collections::{BTreeMap, HashMap};

use super::containers::{ContainerRecord, ContainerState};
use super::{Engine, Error};

/// One image's usage.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    /// The image.
    pub image: libimage::image::ImageRecord,
    /// When it was created (its config's `created`).
    pub created: String,
    /// All its layers.
    pub size: u64,
    /// The part held by its layers that other images hold too.
    pub shared_size: u64,
    /// How many containers use it.
    pub containers: usize,
}

/// One container's usage.
#[derive(Debug, Clone)]
pub struct ContainerUsage {
    /// The container.
    pub record: ContainerRecord,
    /// Its state.
    pub state: ContainerState,
    /// Its own (writable) layer.
    pub size_rw: u64,
}

/// One volume's usage.
#[derive(Debug, Clone)]
pub struct VolumeUsage {
    /// The volume.
    pub volume: libvolume::Volume,
    /// Its content.
    pub size: u64,
    /// How many containers use it.
    pub ref_count: usize,
}

/// What `system df` reports.
#[derive(Debug, Clone)]
pub struct DiskUsage {
    /// Images, newest first.
    pub images: Vec<ImageUsage>,
    /// Containers.
    pub containers: Vec<ContainerUsage>,
    /// Volumes.
    pub volumes: Vec<VolumeUsage>,
    /// The layers of all images, each counted once.
    pub layers_size: u64,
    /// The layers of images no container uses, each counted once.
    pub reclaimable_layers_size: u64,
}

impl Engine {
    /// The disk usage of images, containers and volumes (`docker system df`).
    pub fn disk_usage(&self) -> Result<DiskUsage, Error> {
        let images = self.images.list()?;
        // Layers shared between images count once; how many images hold each.
        let mut holders: HashMap<String, usize> = HashMap::new();
        let mut layers = BTreeMap::new();
        let mut used_layers = BTreeMap::new();
        let mut image_usage = Vec::new();
        for img in &images {
            for l in &img.layers {
                *holders.entry(l.chain_id.to_string()).or_default() += 1;
            }
        }
        for img in images {
            let users = self.image_users(&img.id).len();
            for l in &img.layers {
                layers.insert(l.chain_id.to_string(), l.size);
                if users > 0 {
                    used_layers.insert(l.chain_id.to_string(), l.size);
                }
            }
            let shared_size = img
                .layers
                .iter()
                .filter(|l| holders.get(&l.chain_id.to_string()).is_some_and(|n| *n > 1))
                .map(|l| l.size)
                .sum();
            let created = self
                .images
                .config(&img)
                .ok()
                .and_then(|c| c.str_field("created").map(str::to_string))
                .unwrap_or_default();
            image_usage.push(ImageUsage {
                size: img.size(),
                shared_size,
                containers: users,
                created,
                image: img,
            });
        }
        image_usage.sort_by(|a, b| b.created.cmp(&a.created));
        let layers_size: u64 = layers.values().sum();
        let reclaimable_layers_size = layers_size - used_layers.values().sum::<u64>();
        let mut containers = Vec::new();
        for c in self.containers()? {
            let size_rw = self
                .images
                .snapshotter()
                .usage(&c.snapshot)
                .map(|u| u.size)
                .unwrap_or(0);
            containers.push(ContainerUsage {
                state: self.container_state(&c)?,
                record: c,
                size_rw,
            });
        }
        let mut volumes = Vec::new();
        for v in self.volumes.list()? {
            volumes.push(VolumeUsage {
                size: self.volumes.size(&v.name).unwrap_or(0),
                ref_count: self.volume_users(&v.name)?.len(),
                volume: v,
            });
        }
        Ok(DiskUsage {
            images: image_usage,
            containers,
            volumes,
            layers_size,
            reclaimable_layers_size,
        })
    }
}
