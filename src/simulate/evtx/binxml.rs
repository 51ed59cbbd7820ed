//! BinXML encoding of the classic events Windows writes (MS-EVEN6 §2.2): an outer `<Event>`
//! template (System fields as optional substitutions, provider, channel and computer as static
//! text) whose last substitution is a nested BinXML fragment holding the `<EventData>` template
//! (one string-array substitution for the `<Data>` values, one binary for `<Binary>`).

/// Substitution value types used here (MS-EVEN6 §2.2.18).
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum ValueType {
    Null = 0x00,
    String = 0x01,
    UInt8 = 0x04,
    UInt16 = 0x06,
    UInt32 = 0x08,
    UInt64 = 0x0A,
    Binary = 0x0E,
    Guid = 0x0F,
    FileTime = 0x11,
    Sid = 0x13,
    HexInt64 = 0x15,
    BinXml = 0x21,
    StringArray = 0x81,
}

/// One substitution value: its type and its bytes.
pub struct Value {
    pub ty: ValueType,
    pub bytes: Vec<u8>,
}

impl Value {
    pub fn null() -> Value {
        Value {
            ty: ValueType::Null,
            bytes: vec![],
        }
    }
    pub fn u8(v: u8) -> Value {
        Value {
            ty: ValueType::UInt8,
            bytes: vec![v],
        }
    }
    pub fn u16(v: u16) -> Value {
        Value {
            ty: ValueType::UInt16,
            bytes: v.to_le_bytes().to_vec(),
        }
    }
    pub fn u32(v: u32) -> Value {
        Value {
            ty: ValueType::UInt32,
            bytes: v.to_le_bytes().to_vec(),
        }
    }
    pub fn u64(v: u64) -> Value {
        Value {
            ty: ValueType::UInt64,
            bytes: v.to_le_bytes().to_vec(),
        }
    }
    pub fn hex64(v: u64) -> Value {
        Value {
            ty: ValueType::HexInt64,
            bytes: v.to_le_bytes().to_vec(),
        }
    }
    pub fn filetime(v: u64) -> Value {
        Value {
            ty: ValueType::FileTime,
            bytes: v.to_le_bytes().to_vec(),
        }
    }
    pub fn binary(b: &[u8]) -> Value {
        Value {
            ty: ValueType::Binary,
            bytes: b.to_vec(),
        }
    }
    /// NUL-terminated UTF-16LE strings, one after the other.
    pub fn strings(items: &[String]) -> Value {
        let mut bytes = Vec::new();
        for s in items {
            bytes.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
            bytes.extend([0, 0]);
        }
        Value {
            ty: ValueType::StringArray,
            bytes,
        }
    }
}

/// A node of a template body.
pub enum Node {
    /// Element with attributes and children.
    Element {
        name: &'static str,
        attrs: Vec<(&'static str, Node)>,
        children: Vec<Node>,
    },
    /// Static text.
    Text(String),
    /// Optional substitution `index` of `ty`: left out when the value is null.
    Sub(u16, ValueType),
}

pub fn el(name: &'static str, attrs: Vec<(&'static str, Node)>, children: Vec<Node>) -> Node {
    Node::Element {
        name,
        attrs,
        children,
    }
}

/// The name hash stored with each name (and used for the chunk's string buckets).
pub fn name_hash(name: &str) -> u32 {
    name.encode_utf16().fold(0u32, |h, c| {
        h.wrapping_mul(65599).wrapping_add(u32::from(c))
    })
}

/// What a chunk already holds: names and template definitions are written once per chunk and
/// referenced by chunk offset after that; bucket heads chain them as Windows does.
#[derive(Clone)]
pub struct ChunkTables {
    pub names: std::collections::HashMap<&'static str, u32>,
    pub name_buckets: [u32; 64],
    /// template key → (definition offset, template id)
    pub templates: std::collections::HashMap<String, (u32, u32)>,
    pub template_buckets: [u32; 32],
}

impl Default for ChunkTables {
    fn default() -> Self {
        ChunkTables {
            names: Default::default(),
            name_buckets: [0; 64],
            templates: Default::default(),
            template_buckets: [0; 32],
        }
    }
}

/// Encodes BinXML at a known chunk offset.
pub struct Writer<'a> {
    pub out: Vec<u8>,
    /// Chunk offset of `out[0]`.
    pub base: u32,
    pub tables: &'a mut ChunkTables,
}

/// A template to instantiate: its identity in the chunk, GUID and body.
pub struct Template<'t> {
    pub key: String,
    pub guid: [u8; 16],
    pub body: &'t Node,
}

impl Writer<'_> {
    fn pos(&self) -> u32 {
        self.base + self.out.len() as u32
    }
    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.out.extend(v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.out.extend(v.to_le_bytes());
    }
    fn patch_u32(&mut self, at: usize, v: u32) {
        self.out[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn patch_u16(&mut self, at: usize, v: u16) {
        self.out[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    /// A name reference: the offset, then the name itself when this is its first use in the chunk.
    fn name(&mut self, name: &'static str) {
        if let Some(off) = self.tables.names.get(name) {
            let off = *off;
            self.u32(off);
            return;
        }
        let at = self.pos() + 4;
        let hash = name_hash(name);
        let bucket = (hash % 64) as usize;
        self.u32(at);
        self.u32(self.tables.name_buckets[bucket]); // next name of the same bucket
        self.tables.name_buckets[bucket] = at;
        self.tables.names.insert(name, at);
        self.u16((hash & 0xFFFF) as u16);
        let units: Vec<u16> = name.encode_utf16().collect();
        self.u16(units.len() as u16);
        units.iter().for_each(|u| self.u16(*u));
        self.u16(0);
    }

    pub fn fragment_header(&mut self) {
        self.out.extend([0x0F, 0x01, 0x01, 0x00]);
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Element {
                name,
                attrs,
                children,
            } => {
                self.u8(if attrs.is_empty() { 0x01 } else { 0x41 });
                // Windows makes an element depend on its first substitution child: with that
                // value null, the element is left out (an event without <Binary>, say).
                let dependency = children.iter().find_map(|c| match c {
                    Node::Sub(i, _) => Some(*i),
                    _ => None,
                });
                self.u16(dependency.unwrap_or(0xFFFF));
                let size_at = self.out.len();
                self.u32(0); // element data size, patched below
                self.name(name);
                if !attrs.is_empty() {
                    let list_at = self.out.len();
                    self.u32(0); // attribute list size, patched below
                    for (k, (aname, value)) in attrs.iter().enumerate() {
                        self.u8(if k + 1 < attrs.len() { 0x46 } else { 0x06 });
                        self.name(aname);
                        self.node(value);
                    }
                    let len = (self.out.len() - list_at - 4) as u32;
                    self.patch_u32(list_at, len);
                }
                if children.is_empty() {
                    self.u8(0x03);
                } else {
                    self.u8(0x02);
                    for c in children {
                        self.node(c);
                    }
                    self.u8(0x04);
                }
                let len = (self.out.len() - size_at - 4) as u32;
                self.patch_u32(size_at, len);
            }
            Node::Text(t) => {
                self.u8(0x05);
                self.u8(ValueType::String as u8);
                let units: Vec<u16> = t.encode_utf16().collect();
                self.u16(units.len() as u16);
                units.iter().for_each(|u| self.u16(*u));
            }
            Node::Sub(index, ty) => {
                self.u8(0x0E);
                self.u16(*index);
                self.u8(*ty as u8);
            }
        }
    }

    /// A template instance: the definition inline on its first use in the chunk, else a
    /// reference; then the substitution values. A `BinXml` value is written by `nested`, in
    /// place, because what it holds refers to chunk offsets.
    pub fn instance(
        &mut self,
        t: &Template,
        values: &[Value],
        nested: &mut dyn FnMut(&mut Writer),
    ) {
        let id = u32::from_le_bytes([t.guid[0], t.guid[1], t.guid[2], t.guid[3]]);
        self.u8(0x0C);
        self.u8(0x01);
        self.u32(id);
        match self.tables.templates.get(&t.key) {
            Some((off, _)) => {
                let off = *off;
                self.u32(off);
            }
            None => {
                let here = self.pos() + 4;
                self.u32(here);
                let bucket = (id % 32) as usize;
                self.u32(self.tables.template_buckets[bucket]); // next template of the same bucket
                self.tables.template_buckets[bucket] = here;
                self.tables.templates.insert(t.key.clone(), (here, id));
                self.out.extend(t.guid);
                let size_at = self.out.len();
                self.u32(0);
                self.fragment_header();
                self.node(t.body);
                self.u8(0x00);
                let len = (self.out.len() - size_at - 4) as u32;
                self.patch_u32(size_at, len);
            }
        }
        self.u32(values.len() as u32);
        let table_at = self.out.len();
        for v in values {
            self.u16(v.bytes.len() as u16);
            self.u8(v.ty as u8);
            self.u8(0);
        }
        for (k, v) in values.iter().enumerate() {
            if matches!(v.ty, ValueType::BinXml) {
                let start = self.out.len();
                nested(self);
                let len = (self.out.len() - start) as u16;
                self.patch_u16(table_at + 4 * k, len);
            } else {
                self.out.extend(&v.bytes);
            }
        }
    }
}
