// The bundle's entry: JsSIP's public API becomes the global `JsSIP` (esbuild
// --global-name), as the page expects.
module.exports = require('jssip');
