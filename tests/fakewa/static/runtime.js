/*
 * fakewa runtime: a module system in the shape of the site's (__d defines, window.require
 * returns), and the Backbone-like emitters, models and collections its modules are made of.
 *
 * Emitters: on/off/once/trigger; 'change:a change:b' registers on both; a listener of
 * 'change:x' gets (model, newValue, previousValue); 'all' gets the event name first.
 * A model's events are re-triggered by every collection that holds it, as in Backbone.
 *
 * FakeWAConfig is the page's configuration (settings.py page_config: delays, the generation).
 * In the 2026-08 generation some modules are in a chunk the site loads only once logged in:
 * __dLazy defines them then (FakeWARuntime.loadLazy, called by link.js on CONNECTED); before,
 * requiring one throws as for any unknown module.
 */
(function () {
  'use strict';

  const factories = Object.create(null);
  const exportsOf = Object.create(null);

  window.__d = function (name, factory) {
    factories[name] = factory;
  };

  window.require = function (name) {
    if (name in exportsOf) return exportsOf[name];
    const factory = factories[name];
    if (!factory) throw new Error('Requiring unknown module "' + name + '"');
    exportsOf[name] = factory(window.require);
    return exportsOf[name];
  };

  window.Debug = window.Debug || {};

  const config = JSON.parse(document.getElementById('fakewa-config').textContent);
  const lazy = [];
  window.__dLazy = function (name, factory) {
    if (config.generation >= '2026-08') lazy.push([name, factory]);
    else window.__d(name, factory);
  };
  function loadLazy() {
    for (const [name, factory] of lazy.splice(0)) window.__d(name, factory);
  }

  function names(events) {
    return String(events).split(/\s+/).filter(Boolean);
  }

  function report(error) {
    // A failing listener must not stop the others; the error still reaches the console.
    setTimeout(function () { throw error; }, 0);
  }

  class Emitter {
    on(events, callback, context) {
      if (typeof callback !== 'function') return this;
      const map = this._events || (this._events = Object.create(null));
      for (const name of names(events)) {
        (map[name] || (map[name] = [])).push({ callback, context });
      }
      return this;
    }

    once(events, callback, context) {
      const self = this;
      const wrapper = function () {
        self.off(events, wrapper);
        return callback.apply(this, arguments);
      };
      wrapper._original = callback;
      return this.on(events, wrapper, context);
    }

    off(events, callback, context) {
      const map = this._events;
      if (!map) return this;
      const list = events ? names(events) : Object.keys(map);
      for (const name of list) {
        if (!map[name]) continue;
        if (!callback && !context) {
          delete map[name];
          continue;
        }
        map[name] = map[name].filter(function (l) {
          const sameCallback = !callback || l.callback === callback || l.callback._original === callback;
          const sameContext = !context || l.context === context;
          return !(sameCallback && sameContext);
        });
        if (!map[name].length) delete map[name];
      }
      return this;
    }

    trigger(events, ...args) {
      const map = this._events;
      if (!map) return this;
      for (const name of names(events)) {
        for (const l of (map[name] || []).slice()) {
          try { l.callback.apply(l.context || this, args); } catch (e) { report(e); }
        }
        if (name !== 'all') {
          for (const l of (map.all || []).slice()) {
            try { l.callback.apply(l.context || this, [name, ...args]); } catch (e) { report(e); }
          }
        }
      }
      return this;
    }

    listenerCount(name) {
      return this._events && this._events[name] ? this._events[name].length : 0;
    }
  }

  function plain(value) {
    if (value === null || typeof value !== 'object') return value;
    if (typeof value.serialize === 'function') return value.serialize();
    if (Array.isArray(value)) return value.map(plain);
    const out = {};
    for (const key of Object.keys(value)) out[key] = plain(value[key]);
    return out;
  }

  class Model extends Emitter {
    constructor(attrs) {
      super();
      this.attributes = {};
      this.collections = [];
      if (attrs) this.set(attrs, { silent: true });
    }

    get(attr) { return this.attributes[attr]; }

    set(key, value, options) {
      let attrs = key;
      if (typeof key !== 'object' || key === null) {
        attrs = { [key]: value };
      } else {
        options = value;
      }
      const changes = [];
      for (const name of Object.keys(attrs)) {
        const previous = this.attributes[name];
        if (previous === attrs[name]) continue;
        this.attributes[name] = attrs[name];
        changes.push([name, attrs[name], previous]);
      }
      if (!(options && options.silent)) {
        for (const [name, now, previous] of changes) this.trigger('change:' + name, this, now, previous);
        if (changes.length) this.trigger('change', this);
      }
      return this;
    }

    trigger(events, ...args) {
      super.trigger(events, ...args);
      for (const collection of this.collections.slice()) collection.trigger(events, ...args);
      return this;
    }

    serialize() {
      const out = {};
      for (const key of Object.keys(this.attributes)) out[key] = plain(this.attributes[key]);
      return out;
    }

    toJSON() { return this.serialize(); }

    /** Define `model.x` for attribute `x` on a model class, as the site's models have. */
    static defineAttributes(names) {
      for (const name of names) {
        Object.defineProperty(this.prototype, name, {
          configurable: true,
          get() { return this.attributes[name]; },
          set(v) { this.set(name, v); },
        });
      }
    }
  }

  /** The string a model is known by: a wid's or a message key's (its own toString). */
  function idOf(x) {
    if (x === null || x === undefined) return undefined;
    if (typeof x === 'string') return x;
    if (typeof x._serialized === 'string') return x._serialized;
    if (typeof x.$1 === 'string') return x.$1;
    if (typeof x.toString === 'function' && x.toString !== Object.prototype.toString) return x.toString();
    if (x.id !== undefined && x.id !== x) return idOf(x.id);
    return String(x);
  }

  class Collection extends Emitter {
    constructor(modelClass) {
      super();
      this.modelClass = modelClass;
      this._models = [];
      this._byId = new Map();
    }

    get(id) { return this._byId.get(idOf(id)); }
    has(id) { return this._byId.has(idOf(id)); }
    getModelsArray() { return this._models.slice(); }
    toArray() { return this._models.slice(); }
    get models() { return this._models.slice(); }
    get length() { return this._models.length; }
    at(index) { return this._models[index]; }
    forEach(fn) { this._models.slice().forEach(fn); }
    map(fn) { return this._models.map(fn); }
    filter(fn) { return this._models.filter(fn); }
    find(fn) { return typeof fn === 'function' ? this._models.find(fn) : this.get(fn); }
    serialize() { return this._models.map((m) => m.serialize()); }

    /** Add models (or attribute objects); an id already present is merged, not duplicated. */
    add(models, options) {
      const many = Array.isArray(models);
      const added = [];
      for (let model of many ? models : [models]) {
        if (!(model instanceof Model)) model = new this.modelClass(model);
        const id = idOf(model.id);
        const existing = this._byId.get(id);
        if (existing) {
          if (options && options.merge && existing !== model) existing.set(model.attributes);
          added.push(existing);
          continue;
        }
        this._models.push(model);
        this._byId.set(id, model);
        model.collections.push(this);
        added.push(model);
        if (!(options && options.silent)) this.trigger('add', model, this, options || {});
      }
      return many ? added : added[0];
    }

    remove(models, options) {
      const many = Array.isArray(models);
      const removed = [];
      for (const m of many ? models : [models]) {
        const model = this.get(m);
        if (!model) continue;
        this._models.splice(this._models.indexOf(model), 1);
        this._byId.delete(idOf(model.id));
        model.collections = model.collections.filter((c) => c !== this);
        removed.push(model);
        if (!(options && options.silent)) this.trigger('remove', model, this, options || {});
      }
      return many ? removed : removed[0];
    }
  }

  __d('FakeWARuntime', function () {
    return { Emitter, Model, Collection, idOf, plain, loadLazy };
  });
  __d('FakeWAConfig', function () { return config; });
})();
