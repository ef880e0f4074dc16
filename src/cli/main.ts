console.log('chainscope: not yet implemented');
